"""Work across editions and against the report text.

``values`` reads the text's figures and dates; ``audit`` checks them against the built graph;
``outline`` and ``scaffold`` start a new edition (``edition new``); ``entities``, ``draft`` and
``draft_measure`` propose its candidate facts (``draft``); ``releases`` reads built release
directories and the archive; ``diff`` and ``diff_render`` say what changed between two releases.
Imports ``core``, ``build`` and ``serve``; ``releases`` and ``diff*`` import no ``build`` module,
because the web layer uses them.
"""
