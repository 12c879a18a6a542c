"""The graded parts of every assignment, each written once (instructor-only).

One module per assignment: ``theory`` (01), ``toy`` (02), ``mnist_ebm`` (03), ``glyph_jem``
(04), ``ood`` (05), ``sampling_likelihood`` (06). Each definition here is both the reference solution and the text of its
notebook cell: ``course/src/<assignment>.py`` names it in a ``# %% solution id=... from=MODULE:NAME``
cell and ``make notebooks`` copies its source into the notebook (``..authoring``). The hidden
checks (``..grading``) compare submissions with these, and the tests run them. Nothing in the
student edition of the package holds or calls them: the notebooks pass their own versions in.
"""

MODULE_OF = {"01_theory": "theory", "02_toy_densities": "toy", "03_mnist_ebm": "mnist_ebm",
             "04_glyph_jem": "glyph_jem", "05_ood_detection": "ood",
             "06_sampling_likelihood": "sampling_likelihood"}
