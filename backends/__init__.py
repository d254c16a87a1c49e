"""The built-in rmmdetect backends.

Each sub-package is one target, registered under the ``rmmdetect.backends`` entry-point group in
``pyproject.toml`` exactly as a third-party backend would be; the core never imports one by
name. :mod:`rmmdetect.backend` explains how to write a backend. Backends know the model and
their own platform, never each other.
"""
