"""ebm_course: the companion package of an autograded course on deep energy-based models.

The science, one concept a module: ``config`` (profiles, seeding, paths), ``models`` (the sign
convention, the CNN's layers), ``sampling`` (SGLD chains, the replay-buffer sampler),
``ebm`` (DeepEnergyModel), ``jem`` (JEM), ``lightning_hooks``, ``guard`` (DivergenceGuard),
``toy`` / ``toy_train`` (2D densities and their training), ``ood``, ``metrics``, ``data`` /
``glyphs``, ``export``, ``callbacks``, ``plotting`` / ``plotting_toy``, ``results``, ``util``.
None of it holds a part a student writes: where it needs one, the notebook passes it in.

``ebm_course.instructor`` is the course machinery (the graded parts written once, authoring,
release, build, hidden checks, grading loop, CLI); the student edition omits it. Design notes:
``docs/design.md``.
"""

__version__ = "0.1.0"
