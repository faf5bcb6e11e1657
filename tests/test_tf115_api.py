"""The project's code against the API of TensorFlow 1.15.5 (tensorflow.compat.v1) and NumPy
1.18.5, which the scripts promise to run on but which cannot be installed here.

tools/api_manifest.txt lists every public symbol of both, with the parameters of functions,
constructors and the methods of the classes the project uses, read from their wheels by
tools/api_manifest.py. This test reads every Python file the project runs (the scripts, the
shared modules, classify.py and tools/), follows each use of `tf.` and `np.` (whatever the
alias) and fails with file:line and the symbol or keyword that 1.15 / 1.18 lacks. It also
checks that each positional argument lands on a parameter of the same name in TensorFlow
1.15 and in the TensorFlow installed here (as `tf.nn.in_top_k(logits, labels, 1)` must),
and that the code parses as Python 3.7.

What it cannot see:
- methods called on values whose class it does not know: it knows variables assigned from
  a TensorFlow constructor (`optimizer = tf.train.AdamOptimizer(...)`, `with tf.Session()
  as sess`) and the names the project gives sessions, savers, writers and optimizers
  (`sess`, `saver`, `writer`, `optimizer`, also as `self._saver`); not results of calls
  used in place (`tf.train.Saver().save(...)`), nor tensors' and arrays' methods;
- attributes of classes beyond the listed methods (instance attributes are not listed);
- names made at run time (getattr), and the standard library of Python 3.7;
- behaviour: nothing here runs on TensorFlow 1.15.
"""
import ast
import glob
import inspect
import os
import sys

import numpy
import pytest

from conftest import REPO_DIR
from tfmnist.tf1 import tf

if tf.version.VERSION.startswith("1."):
    pytest.skip("the static check of TensorFlow 1.15's API runs under TensorFlow 2.x; under "
                "1.15 itself, the other tests run the code", allow_module_level=True)

MANIFEST_FILE = os.path.join(REPO_DIR, "tools", "api_manifest.txt")
# Names the project gives instances of these classes (a leading underscore aside).
NAMED_INSTANCES = {"sess": "tf.Session", "saver": "tf.train.Saver",
                   "writer": "tf.summary.FileWriter", "optimizer": "tf.train.Optimizer"}
# Parameters renamed, not changed: a positional argument means the same in both versions.
RENAMED = {("np.reshape", 1): ("newshape", "shape")}  # NumPy 2.1


def load_manifest(path=MANIFEST_FILE):
    """{dotted name: (kind, params or None)} from the manifest."""
    manifest = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, kind, *params = line.split()
            manifest[name] = (kind, params[0].split(",") if params else None)
    return manifest


MANIFEST = load_manifest()


def project_files():
    files = sorted(glob.glob(os.path.join(REPO_DIR, "*.py"))
                   + glob.glob(os.path.join(REPO_DIR, "tfmnist", "**", "*.py"), recursive=True)
                   + glob.glob(os.path.join(REPO_DIR, "tools", "*.py")))
    assert any(f.endswith("cnn_mnist.py") for f in files)
    return files


class Checker(ast.NodeVisitor):
    """Finds the uses of tf. and np. in one file that the manifest does not allow."""

    def __init__(self, filename, tree):
        self.filename = filename
        self.problems = []
        self.roots = {}  # local name -> "tf" or "np"
        self.types = {}  # variable (or self.attribute) -> the manifest name of its class
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                child.parent = node
            if isinstance(node, ast.ImportFrom) and node.module in ("tf1", "tfmnist.tf1"):
                for alias in node.names:
                    if alias.name == "tf":
                        self.roots[alias.asname or "tf"] = "tf"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "tensorflow.compat.v1" and alias.asname:
                        self.roots[alias.asname] = "tf"
                    elif alias.name == "numpy":
                        self.roots[alias.asname or "numpy"] = "np"

    def problem(self, node, message):
        self.problems.append("%s:%d: %s" % (os.path.relpath(self.filename, REPO_DIR),
                                            node.lineno, message))

    def dotted(self, node):
        """'tf.nn.in_top_k' for an attribute chain rooted at a tf or np alias, else None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.roots:
            return ".".join([self.roots[node.id]] + parts[::-1])
        return None

    def variable(self, node):
        """'sess' or 'self._saver' for a name or self-attribute, else None."""
        if isinstance(node, ast.Name):
            return node.id
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "self"):
            return "self." + node.attr
        return None

    def class_of(self, node):
        name = self.variable(node)
        if name is None:
            return None
        if name in self.types:
            return self.types[name]
        return NAMED_INSTANCES.get(name.split(".")[-1].lstrip("_"))

    def check_path(self, node, path):
        """Checks that every step of tf.a.b.c exists, as far as the manifest can tell."""
        parts = path.split(".")
        current = parts[0]
        for part in parts[1:]:
            candidate = current + "." + part
            if candidate in MANIFEST:
                current = candidate
                continue
            kind = MANIFEST[current][0] if current in MANIFEST else "module"
            if kind in ("module", "proto"):
                self.problem(node, "%s is not in %s" % (candidate, _version(path)))
            return None
        return current

    def visit_Attribute(self, node):
        if not isinstance(getattr(node, "parent", None), ast.Attribute):  # the whole chain
            path = self.dotted(node)
            if path:
                self.check_path(node, path)
        self.generic_visit(node)

    def visit_Assign(self, node):
        self._remember(node.targets, node.value)
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self._remember([item.optional_vars], item.context_expr)
        self.generic_visit(node)

    def _remember(self, targets, value):
        if isinstance(value, ast.Call):
            path = self.dotted(value.func)
            if path and MANIFEST.get(path, ("",))[0] == "class":
                for target in targets:
                    name = self.variable(target)
                    if name:
                        self.types[name] = path

    def visit_Call(self, node):
        path = self.dotted(node.func)
        if path is None and isinstance(node.func, ast.Attribute):
            owner = self.class_of(node.func.value)
            if owner:
                path = owner + "." + node.func.attr
                if path not in MANIFEST and _lists_methods(owner):
                    self.problem(node, "%s has no method %s in %s"
                                 % (owner, node.func.attr, _version(owner)))
                    path = None
        if path in MANIFEST:
            self.check_arguments(node, path)
        self.generic_visit(node)

    def check_arguments(self, node, path):
        kind, params = MANIFEST[path]
        if params is None or kind not in ("function", "class", "method", "proto"):
            return
        if "**" not in params:
            for keyword in node.keywords:
                if keyword.arg is not None and keyword.arg not in params:
                    self.problem(node, "%s has no parameter %s in %s"
                                 % (path, keyword.arg, _version(path)))
        named = params[:params.index("*")] if "*" in params else params
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        if kind == "proto" and positional:
            self.problem(node, "%s takes its fields by name" % path)
        elif "*" not in params and len(positional) > len(named):
            self.problem(node, "%s takes at most %d positional arguments in %s"
                         % (path, len(named), _version(path)))
        elif positional:
            here = _installed_params(path)
            if here is not None:
                for index in range(len(positional)):
                    if (index < len(here) and index < len(named) and here[index] != named[index]
                            and RENAMED.get((path, index)) != (named[index], here[index])):
                        self.problem(node, "%s: positional argument %d is %s in %s but %s "
                                           "here: pass it by name" % (
                                               path, index + 1, named[index], _version(path),
                                               here[index]))


def _version(path):
    return "TensorFlow 1.15" if path.startswith("tf.") else "NumPy 1.18"


def _lists_methods(owner):
    return any(name.startswith(owner + ".") for name in MANIFEST)


def _installed_params(path):
    """The parameter names of the same function in the TensorFlow or NumPy installed here."""
    obj = tf if path.startswith("tf.") else numpy
    try:
        for part in path.split(".")[1:]:
            obj = getattr(obj, part)
        signature = inspect.signature(obj)
    except (AttributeError, TypeError, ValueError):
        return None
    params = [p.name for p in signature.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return params[1:] if params[:1] == ["self"] else params


def check_source(source, filename="<snippet>"):
    """The problems the checker finds in Python source."""
    tree = ast.parse(source, filename, feature_version=(3, 7))
    checker = Checker(filename, tree)
    checker.visit(tree)
    return checker.problems


@pytest.mark.parametrize("path", project_files(), ids=os.path.basename)
def test_the_code_uses_only_what_tensorflow_1_15_and_numpy_1_18_have(path):
    with open(path) as f:
        source = f.read()
    try:
        problems = check_source(source, path)
    except SyntaxError as e:  # feature_version=(3, 7): newer syntax fails to parse
        pytest.fail("%s:%s: not Python 3.7 syntax: %s" % (path, e.lineno, e.msg))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("snippet, problem", [
    # Each was in the code once, and runs on TensorFlow 2.21 but not on 1.15 / NumPy 1.18.
    ("from tfmnist.tf1 import tf\npng = tf.io.encode_png(pixels)",
     "tf.io.encode_png is not in TensorFlow 1.15"),
    ("import tensorflow.compat.v1 as tf1\ntf1.compat.v2.image.resize(x, [2, 2])",
     "tf.compat.v2 is not in TensorFlow 1.15"),
    ("import numpy as np\nnp.lib.stride_tricks.sliding_window_view(a, 3)",
     "np.lib.stride_tricks.sliding_window_view is not in NumPy 1.18"),
    ("from tfmnist.tf1 import tf\ntf.nn.dropout(h, rate=0.5, keep=1)",
     "tf.nn.dropout has no parameter keep in TensorFlow 1.15"),
    ("from tfmnist.tf1 import tf\nsaver = tf.train.Saver()\nsaver.save(sess, 'x', step=1)",
     "tf.train.Saver.save has no parameter step in TensorFlow 1.15"),
    ("from tfmnist.tf1 import tf\nwith tf.Session() as s:\n    s.run_all(x)",
     "tf.Session has no method run_all in TensorFlow 1.15"),
    ("from tfmnist.tf1 import tf\ntf.Summary.Value(tag='a', simple=1.0)",
     "tf.Summary.Value has no parameter simple in TensorFlow 1.15"),
])
def test_the_check_finds_what_1_15_lacks(snippet, problem):
    problems = check_source(snippet)
    assert any(problem in p for p in problems), problems


def test_the_check_finds_positional_arguments_that_change_meaning(monkeypatch):
    """tf.math.in_top_k takes (targets, predictions) in TensorFlow 2's own API: were the
    installed compat.v1 to do the same, a positional call would swap them unseen."""
    assert check_source("from tfmnist.tf1 import tf\ntf.nn.in_top_k(logits, labels, 1)") == []
    monkeypatch.setattr(sys.modules[__name__], "_installed_params",
                        lambda path: ["targets", "predictions", "k"])
    assert check_source("from tfmnist.tf1 import tf\ntf.nn.in_top_k(logits, labels, 1)") == [
        "<snippet>:2: tf.nn.in_top_k: positional argument 1 is predictions in TensorFlow 1.15 "
        "but targets here: pass it by name",
        "<snippet>:2: tf.nn.in_top_k: positional argument 2 is targets in TensorFlow 1.15 but "
        "predictions here: pass it by name"]


def test_python_3_8_syntax_is_caught():
    with pytest.raises(SyntaxError):
        check_source("if (n := 10) > 5:\n    pass")


def test_the_parameters_the_scripts_rely_on_agree_in_both_versions():
    """The differences that bite when porting between 1.15 and 2.x, checked by name."""
    in_top_k = MANIFEST["tf.nn.in_top_k"][1]
    assert in_top_k[:3] == ["predictions", "targets", "k"]  # not 2.x's (targets, predictions)
    assert _installed_params("tf.nn.in_top_k")[:3] == in_top_k[:3]
    # dropout: 1.15 takes keep_prob and rate; the scripts pass rate, by name.
    assert {"keep_prob", "rate"} <= set(MANIFEST["tf.nn.dropout"][1])
    assert "rate" in _installed_params("tf.nn.dropout")
    assert MANIFEST["tf.SessionLog.START"][0] == "value"
