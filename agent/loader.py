"""Bootstrap run as ``python -I -c <this file> BUNDLE SHA256``: verify, then run.

The controller sends this text on the command line, so nothing from the host's
cache runs unchecked: the bundle's bytes are hashed, compared with the sha256
the controller computed, and imported from those same bytes (a file swapped
after the check is never read again). Stdlib only, Python >= 3.8.
"""

import hashlib
import importlib.util
import io
import sys
import zipfile

CACHE_ERROR_EXIT = 86


class BundleImporter:
    """Finds and loads the agent's modules inside the verified zip bytes."""

    def __init__(self, data):
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.zip.namelist())

    def _member(self, name):
        """(member, is_package) of a module name, or (None, False)."""
        base = name.replace(".", "/")
        if base + "/__init__.py" in self.names:
            return base + "/__init__.py", True
        if base + ".py" in self.names:
            return base + ".py", False
        return None, False

    def find_spec(self, name, path=None, target=None):
        """A spec for modules the bundle holds; None lets other finders look."""
        member, package = self._member(name)
        if member is None:
            return None
        return importlib.util.spec_from_loader(
            name, self, origin=member, is_package=package
        )

    def create_module(self, spec):
        """Default module creation."""
        return None

    def exec_module(self, module):
        """Run a module's code from the bundle."""
        member = module.__spec__.origin
        module.__file__ = member  # a path inside the bundle, for get_data
        exec(compile(self.zip.read(member), member, "exec"), module.__dict__)

    def get_data(self, path):
        """Bytes of a file in the bundle (pkgutil.get_data: the job headers)."""
        try:
            return self.zip.read(path.replace("\\", "/").lstrip("./"))
        except KeyError:
            raise OSError("%s is not in the agent bundle" % path) from None

    def get_source(self, name):
        """Source text of a bundled module (tracebacks, and the re-exec)."""
        member, _ = self._member(name)
        return None if member is None else self.zip.read(member).decode("utf-8")


def run(path, digest):
    """Verify the bundle at path against digest, then run its __main__."""
    with open(path, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != digest:
        sys.stderr.write(
            "fleet-agent: cache-error: %s does not match its sha256 (%d bytes)\n"
            % (path, len(data))
        )
        sys.stderr.flush()
        sys.exit(CACHE_ERROR_EXIT)
    importer = BundleImporter(data)
    sys.meta_path.insert(0, importer)
    sys.argv = [path, digest]
    main = compile(importer.zip.read("__main__.py"), "__main__.py", "exec")
    exec(main, {"__name__": "__main__", "__builtins__": __builtins__})


if __name__ == "__main__" and len(sys.argv) == 3:
    run(sys.argv[1], sys.argv[2])
