"""ebm_course: the companion package of an autograded course on deep energy-based models.

Modules, one concept each: ``config`` (profiles, seeding), ``models`` (the CNN energy and the
course's sign convention), ``sampling`` (SGLD, replay buffer), ``losses``, ``ebm``
(DeepEnergyModel), ``jem``, ``ood``, ``toy``, ``data`` / ``glyphs``, ``callbacks``,
``plotting``, ``results``; instructor-only: ``grading``, ``authoring``, ``release``,
``course_build``.
"""

__version__ = "0.1.0"
