"""Runs an unmodified PyTorch script on Ember::

    python -m ember.compat train.py --epochs 1

``torch`` and every ``torch.*`` module the script imports are Ember's (``torch.nn`` is
``ember.nn``, ``torch.utils.data.dataloader`` is ``ember.utils.data.dataloader``, ...), set up
before the script runs; ``install()`` does the same from Python. An import of a torch module
Ember does not have, or a use of a missing ``torch.`` attribute, fails with an error that names
that PyTorch API.
"""

import importlib
import importlib.abc
import importlib.machinery
import runpy
import sys

import ember


class MissingTorchAPI(ImportError):
    """A torch module or name the script needs and Ember does not provide."""


class _TorchAliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``torch`` and ``torch.X`` to ``ember`` and ``ember.X``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        ember_name = "ember" + spec.name[len("torch"):]
        try:
            return importlib.import_module(ember_name)
        except ModuleNotFoundError as e:
            if e.name is not None and e.name != ember_name and not ember_name.startswith(e.name + "."):
                raise
            raise MissingTorchAPI(f"ember.compat: the script imports `{spec.name}`, which Ember does not provide "
                                  f"(no module {ember_name}); see README's Python section for what is covered",
                                  name=spec.name) from None

    def exec_module(self, module):
        pass


def install():
    """Makes ``import torch`` (and ``torch.*``) give Ember's modules, for this process."""
    if not any(isinstance(f, _TorchAliases) for f in sys.meta_path):
        sys.meta_path.insert(0, _TorchAliases())
    for name, module in list(sys.modules.items()):
        if name == "ember" or name.startswith("ember.") and module is not None:
            sys.modules.setdefault("torch" + name[len("ember"):], module)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] == "-m":
        if len(argv) < 2:
            print("ember.compat: -m needs a module name", file=sys.stderr)
            return 2
        install()
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        return 0
    install()
    sys.argv = argv
    sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(argv[0])))
    runpy.run_path(argv[0], run_name="__main__")
    return 0


__all__ = ["install", "main", "MissingTorchAPI", "ember"]

if __name__ == "__main__":
    sys.exit(main())
