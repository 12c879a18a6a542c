"""``--set NAME=VALUE`` for the benchmark scripts: typed changes to a settings dataclass."""

from __future__ import annotations

from dataclasses import fields


def parse_overrides(items: list[str], settings: type) -> dict:
    """``["beta1=0.9", "n_steps=10"]`` -> ``{"beta1": 0.9, "n_steps": 10}``, each value typed
    by the field's default in the dataclass ``settings`` ("None" gives None; a field without a
    bool / int / str default takes a float). Exits with the valid names on an unknown one."""
    defaults = {f.name: f.default for f in fields(settings)}
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in defaults:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE with NAME one of "
                             f"{sorted(defaults)}")
        default = defaults[key]
        if value == "None":
            out[key] = None
        elif isinstance(default, bool):
            out[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(default, (int, str)):
            out[key] = type(default)(value)
        else:
            out[key] = float(value)
    return out
