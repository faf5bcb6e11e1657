"""Writes tools/api_manifest.txt: the public API of tensorflow.compat.v1 in TensorFlow 1.15.5
and of NumPy 1.18.5, read from their wheels, for tests/test_tf115_api.py; and the signatures
of TF1's MNIST loader, for tests/test_code_people_bring.py.

TensorFlow 1.15 installs only on Python 3.7, which these machines lack, but its wheel can
still be downloaded and read. Its `tensorflow_core/_api/v1/compat/v1/**/__init__.py` files
import every public symbol of `tensorflow.compat.v1` from the module that defines it; this
script follows each import into that module's source for the parameters of functions and
class constructors, the methods of classes (inherited ones too), and the fields and enum
values of protocol buffers. For NumPy it follows the `__all__` lists that make up the
`numpy` namespace and its submodules.

    python tools/api_manifest.py                  # downloads the two wheels (pip download)
    python tools/api_manifest.py --wheels DIR     # or reads them from DIR

Each line of the manifest is `NAME KIND [PARAMS]`: KIND is module, function, class, method,
proto, field, value or unknown (a symbol whose definition this script cannot follow: it
exists, but its parameters are not known); PARAMS are the parameter names in order, `*`
for *args and `**` for **kwargs.
"""
import argparse
import ast
import glob
import os
import re
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "api_manifest.txt")
WHEELS = {"tensorflow": "tensorflow==1.15.5", "numpy": "numpy==1.18.5"}
PIP_DOWNLOAD = ["download", "--no-deps", "--only-binary=:all:", "--python-version", "3.7",
                "--implementation", "cp", "--abi", "cp37m",
                "--platform", "manylinux2010_x86_64", "--platform", "manylinux1_x86_64"]
TF_API = "tensorflow_core/_api/v1/compat/v1"
MNIST_LOADER = "tensorflow_core/contrib/learn/python/learn/datasets/mnist.py"
LOADER_FUNCTIONS = ("read_data_sets", "extract_images", "extract_labels", "dense_to_one_hot")


def params_of(function):
    """The parameter names of an ast.FunctionDef, with * and ** for the catch-alls."""
    a = function.args
    names = [arg.arg for arg in getattr(a, "posonlyargs", []) + a.args]
    if a.vararg:
        names.append("*")
    names += [arg.arg for arg in a.kwonlyargs]
    if a.kwarg:
        names.append("**")
    return names


class Sources:
    """The Python modules of an unpacked wheel, parsed on demand."""

    def __init__(self, root, package_dirs):
        self.root, self.package_dirs = root, package_dirs
        self._trees = {}

    def path(self, module):
        parts = module.split(".")
        parts[0] = self.package_dirs.get(parts[0], parts[0])
        base = os.path.join(self.root, *parts)
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return candidate
        return None

    def is_package(self, module):
        path = self.path(module)
        return bool(path) and path.endswith("__init__.py")

    def tree(self, module):
        if module not in self._trees:
            path = self.path(module)
            self._trees[module] = ast.parse(open(path, encoding="utf-8").read()) if path else None
        return self._trees[module]

    def find(self, module, name, depth=0):
        """(module, ast node) defining `name` in `module`, following imports; or None."""
        tree = self.tree(module)
        if tree is None or depth > 6:
            return None
        for node in _statements(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                return module, node
        for node in _statements(tree.body):
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, node, self.is_package(module))
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        found = self.find(source, alias.name, depth + 1)
                        if found is None and self.path(source + "." + alias.name):
                            return source + "." + alias.name, "module"
                        return found
                    if alias.name == "*":  # it brings `name` only if its __all__ has it
                        exported = _all_of(self, source)
                        found = (self.find(source, name, depth + 1)
                                 if not exported or name in exported else None)
                        if found:
                            return found
            if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == name for t in node.targets):
                value = node.value
                if isinstance(value, ast.Name) and value.id != name:
                    return self.find(module, value.id, depth + 1)
                if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
                    target = self.module_alias(module, value.value.id)
                    if target:
                        return self.find(target, value.attr, depth + 1)
                return module, node
        return None

    def module_alias(self, module, alias):
        """The module that the name `alias` stands for in `module`, if it is an import."""
        tree = self.tree(module)
        for node in _statements(tree.body) if tree else []:
            if isinstance(node, ast.ImportFrom):
                source = _absolute(module, node, self.is_package(module))
                for a in node.names:
                    if (a.asname or a.name) == alias and self.path(source + "." + a.name):
                        return source + "." + a.name
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname == alias:
                        return a.name
        if self.is_package(module) and self.path(module + "." + alias):
            return module + "." + alias  # imported as a side effect of `from .alias import *`
        return None

    def methods(self, module, cls, depth=0):
        """{method name: params} of a class and its bases found in the sources."""
        found = {}
        for base in reversed(cls.bases):
            target = None
            if isinstance(base, ast.Name):
                target = self.find(module, base.id)
            elif isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name):
                alias = self.module_alias(module, base.value.id)
                target = self.find(alias, base.attr) if alias else None
            if target and isinstance(target[1], ast.ClassDef) and depth < 8:
                found.update(self.methods(target[0], target[1], depth + 1))
        for node in cls.body:
            if isinstance(node, ast.FunctionDef):
                decorators = [getattr(d, "id", getattr(d, "attr", "")) for d in
                              node.decorator_list]
                if "property" in decorators:
                    found[node.name] = None  # an attribute, not a call
                elif "staticmethod" in decorators:
                    found[node.name] = params_of(node)
                else:
                    found[node.name] = params_of(node)[1:]
        return found


def _statements(body):
    """A module's top-level statements, with those inside `if` and `try` blocks."""
    for node in body:
        if isinstance(node, ast.If):
            yield from _statements(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            yield from _statements(node.body + node.orelse + node.finalbody
                                   + [n for h in node.handlers for n in h.body])
        else:
            yield node


def _absolute(module, node, is_package):
    """The absolute name of the module an `from ... import` names, seen from `module`."""
    if not node.level:
        return node.module
    parts = module.split(".")
    base = parts[:len(parts) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


# ---------------------------------------------------------------------------------------------
# TensorFlow.

def protos(root):
    """{message full name: (fields, enum values)} of every protocol buffer in the wheel."""
    found = {}
    for path in glob.glob(os.path.join(root, "tensorflow_core", "**", "*_pb2.py"),
                          recursive=True):
        text = open(path, encoding="utf-8").read()
        for block in re.split(r"\n_[A-Z0-9_]+ = _descriptor\.", text):
            kind = re.match(r"(Descriptor|EnumDescriptor)\(\s*name='(\w+)',\s*full_name='"
                            r"([\w.]+)'", block)
            if not kind:
                continue
            full_name = kind.group(3)
            if kind.group(1) == "Descriptor":
                fields = re.findall(r"_descriptor\.FieldDescriptor\(\s*name='(\w+)', "
                                    r"full_name='%s\.\w+'" % re.escape(full_name), block)
                found.setdefault(full_name, (set(), set()))[0].update(fields)
            else:  # an enum: its values are attributes of the message that holds it
                owner = full_name.rsplit(".", 1)[0]
                values = re.findall(r"EnumValueDescriptor\(\s*name='(\w+)'", block)
                found.setdefault(owner, (set(), set()))[1].update(values)
    return found


def tensorflow_lines(root, classes_with_methods):
    sources = Sources(root, {"tensorflow": "tensorflow_core"})
    all_protos = protos(root)
    lines = []

    def proto_lines(public, full_name):
        fields, values = all_protos[full_name]
        lines.append((public, "proto", sorted(fields)))
        for field in sorted(fields):
            lines.append(("%s.%s" % (public, field), "field", None))
        for value in sorted(values):
            lines.append(("%s.%s" % (public, value), "value", None))
        for nested in sorted(n for n in all_protos if n.startswith(full_name + ".")
                             and "." not in n[len(full_name) + 1:]):
            proto_lines(public + "." + nested.rsplit(".", 1)[1], nested)

    for init in sorted(glob.glob(os.path.join(root, TF_API, "**", "__init__.py"),
                                 recursive=True)):
        package = os.path.relpath(os.path.dirname(init), os.path.join(root, TF_API))
        prefix = "" if package == "." else package.replace(os.sep, ".") + "."
        if prefix:
            lines.append((prefix[:-1], "module", None))
        for node in ast.parse(open(init, encoding="utf-8").read()).body:
            if not isinstance(node, ast.ImportFrom) or node.module.startswith("__future__"):
                continue
            for alias in node.names:
                public = prefix + (alias.asname or alias.name)
                if public.split(".")[-1].startswith("_"):
                    continue
                module = node.module
                if module.startswith("tensorflow._api."):
                    continue  # a submodule: listed from its own __init__.py
                found = sources.find(module, alias.name)
                defined = found and isinstance(found[1], (ast.FunctionDef, ast.ClassDef))
                if not defined and "tensorflow." + alias.name in all_protos:
                    proto_lines(public, "tensorflow." + alias.name)
                elif found is None or found[1] == "module":
                    lines.append((public, "module" if found else "unknown", None))
                elif isinstance(found[1], ast.FunctionDef):
                    lines.append((public, "function", params_of(found[1])))
                elif isinstance(found[1], ast.ClassDef):
                    methods = sources.methods(*found)
                    lines.append((public, "class", methods.get("__init__", [])))
                    if public in classes_with_methods:
                        for name, params in sorted(methods.items()):
                            if not name.startswith("_"):
                                lines.append(("%s.%s" % (public, name),
                                              "method" if params is not None else "field",
                                              params))
                else:
                    lines.append((public, "unknown", None))
    return lines


# ---------------------------------------------------------------------------------------------
# NumPy.

def _all_of(sources, module, depth=0):
    """The names in a NumPy module's __all__, as its source builds the list."""
    tree = sources.tree(module)
    names = []
    if tree is None or depth > 5:
        return names

    def evaluate(value):
        if isinstance(value, (ast.List, ast.Tuple)):
            return [e.value for e in value.elts if isinstance(e, ast.Constant)]
        if isinstance(value, ast.BinOp):
            return evaluate(value.left) + evaluate(value.right)
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr == "copy"):  # numpy.linalg: linalg.__all__.copy()
            return evaluate(value.func.value)
        if (isinstance(value, ast.Attribute) and value.attr == "__all__"
                and isinstance(value.value, ast.Name)):
            target = sources.module_alias(module, value.value.id)
            return _all_of(sources, target, depth + 1) if target else []
        return []

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__"
                                                for t in node.targets):
            names = evaluate(node.value)
        elif (isinstance(node, ast.AugAssign) and getattr(node.target, "id", "") == "__all__"):
            names += evaluate(node.value)
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "extend_all"
              and node.args and isinstance(node.args[0], ast.Name)):
            # numpy.core.numeric: extend_all(umath) adds umath.__all__ (the ufuncs)
            target = sources.module_alias(module, node.args[0].id)
            names += _all_of(sources, target, depth + 1) if target else []
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and getattr(node.func.value, "id", "") == "__all__" and node.args):
            if node.func.attr == "extend":
                names += evaluate(node.args[0])
            elif node.func.attr == "append" and isinstance(node.args[0], ast.Constant):
                names.append(node.args[0].value)
            elif node.func.attr == "remove" and isinstance(node.args[0], ast.Constant):
                names = [n for n in names if n != node.args[0].value]
    return names


def numpy_lines(root, modules):
    sources = Sources(root, {})
    lines = []
    for module in modules:
        public = module[len("numpy."):] if module != "numpy" else ""
        if public:
            lines.append((public, "module", None))
        names = set(_all_of(sources, module))
        tree = sources.tree(module)
        for node in _statements(tree.body) if tree else []:  # names imported into it
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names.update(a.asname or a.name for a in node.names if a.name != "*")
                if any(a.name == "*" for a in node.names):
                    source = _absolute(module, node, sources.is_package(module))
                    names.update(_all_of(sources, source))
        if module == "numpy":
            names.update(NUMPY_SCALAR_TYPES)
        for name in sorted(names):
            if name.startswith("_"):
                continue
            full = (public + "." if public else "") + name
            found = sources.find(module, name)
            if found and found[1] == "module":
                lines.append((full, "module", None))
            elif found and isinstance(found[1], ast.FunctionDef):
                lines.append((full, "function", params_of(found[1])))
            elif found and isinstance(found[1], ast.ClassDef):
                lines.append((full, "class", sources.methods(*found).get("__init__")))
            else:
                lines.append((full, "unknown", None))  # a C function, ufunc, type or constant
    return lines


# ---------------------------------------------------------------------------------------------

def fetch_wheels(directory):
    """Downloads the two wheels into directory with pip; returns {package: wheel path}."""
    for requirement in WHEELS.values():
        subprocess.run([sys.executable, "-m", "pip", *PIP_DOWNLOAD, "-d", directory,
                        requirement], check=True, stdout=subprocess.DEVNULL)
    return find_wheels(directory)


def find_wheels(directory):
    wheels = {}
    for package, requirement in WHEELS.items():
        version = requirement.split("==")[1]
        matches = glob.glob(os.path.join(directory, "%s-%s-*.whl" % (package, version)))
        if not matches:
            sys.exit("api_manifest.py: no %s wheel in %s" % (requirement, directory))
        wheels[package] = matches[0]
    return wheels


def params_with_defaults(function):
    """The parameter names of an ast.FunctionDef, each NAME=DEFAULT where it has one (the
    default as its source spells it), without `self`."""
    a = function.args
    names = [arg.arg for arg in a.args]
    defaults = [None] * (len(names) - len(a.defaults)) + [ast.unparse(d) for d in a.defaults]
    return [name if default is None else "%s=%s" % (name, default.replace(" ", ""))
            for name, default in zip(names, defaults) if name != "self"]


def mnist_loader_lines(root):
    """TF1's MNIST loader (tensorflow.examples.tutorials.mnist.input_data, which imports
    contrib's): its functions, DataSet and DataSet.next_batch, with their defaults."""
    tree = ast.parse(open(os.path.join(root, MNIST_LOADER), encoding="utf-8").read())
    lines = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in LOADER_FUNCTIONS:
            lines.append((node.name, "function", params_with_defaults(node)))
        elif isinstance(node, ast.ClassDef) and node.name == "DataSet":
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and method.name == "__init__":
                    lines.append(("DataSet", "class", params_with_defaults(method)))
                elif isinstance(method, ast.FunctionDef) and method.name == "next_batch":
                    lines.append(("DataSet.next_batch", "method", params_with_defaults(method)))
    return lines


def write_manifest(wheels, path=MANIFEST):
    with tempfile.TemporaryDirectory() as unpacked:
        with zipfile.ZipFile(wheels["tensorflow"]) as archive:
            archive.extractall(unpacked, [n for n in archive.namelist() if n.endswith(".py")])
        tf_lines = tensorflow_lines(unpacked, CLASSES_WITH_METHODS)
        loader_lines = mnist_loader_lines(unpacked)
    with tempfile.TemporaryDirectory() as unpacked:
        with zipfile.ZipFile(wheels["numpy"]) as archive:
            archive.extractall(unpacked, [n for n in archive.namelist() if n.endswith(".py")])
        np_lines = numpy_lines(unpacked, NUMPY_MODULES)
    with open(path, "w") as out:
        out.write("# The public API of tensorflow.compat.v1 in TensorFlow 1.15.5 (tf.NAME) and of "
                  "NumPy 1.18.5 (np.NAME),\n# read from their wheels (%s) by tools/api_manifest.py"
                  "; read by tests/test_tf115_api.py.\n# NAME KIND [PARAMS]: see the generator's "
                  "docstring; input_data.NAME: TF1's MNIST loader, PARAM=DEFAULT as its source "
                  "spells it.\n" % ", ".join(os.path.basename(w) for w in wheels.values()))
        for prefix, lines in (("tf.", tf_lines), ("np.", np_lines),
                              ("input_data.", loader_lines)):
            seen = set()
            for name, kind, params in lines:
                if name in seen:
                    continue
                seen.add(name)
                out.write("%s%s %s%s\n" % (prefix, name, kind,
                                           " " + ",".join(params) if params else ""))
    return path


# The classes whose methods the manifest lists (their constructors are always listed).
CLASSES_WITH_METHODS = {
    "Session", "Graph", "Tensor", "Variable", "Operation", "TensorShape", "DType",
    "train.Saver", "train.Optimizer", "train.AdamOptimizer", "train.GradientDescentOptimizer",
    "summary.FileWriter", "glorot_uniform_initializer", "GradientTape",
}
# NumPy makes its sized scalar types at import time, from the C types of the platform: no
# source lists them. These are the names its documentation promises on every platform.
NUMPY_SCALAR_TYPES = ("bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                      "uint64", "intp", "uintp", "float16", "float32", "float64", "complex64",
                      "complex128")
NUMPY_MODULES = ("numpy", "numpy.fft", "numpy.random", "numpy.lib", "numpy.lib.stride_tricks",
                 "numpy.linalg", "numpy.testing")


def main(argv=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--wheels", metavar="DIR",
                        help="a directory holding the two wheels (default: download them)")
    parser.add_argument("--output", default=MANIFEST, help="where to write the manifest")
    args = parser.parse_args(argv)
    if args.wheels:
        wheels = find_wheels(args.wheels)
    else:
        directory = tempfile.mkdtemp(prefix="wheels-")
        print("downloading %s into %s ..." % (" and ".join(WHEELS.values()), directory))
        wheels = fetch_wheels(directory)
    print("wrote %s" % write_manifest(wheels, args.output))


if __name__ == "__main__":
    main()
