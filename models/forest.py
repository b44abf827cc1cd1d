"""Exact, fast evaluation of fitted histogram gradient boosting (the scorer's hot path).

scikit-learn walks each tree row by row: one data-dependent branch per level, so a scorer of
a few hundred trees spends most of its time on mispredicted branches (≈ 40 ns per tree and
row here). ``CompiledForest`` evaluates the same trees the QuickScorer way (Lucchese et al.,
SIGIR 2015): the leaves of a tree are numbered left to right; each split node carries a mask
that clears the leaves of its left subtree, applied when a row goes right; the row's leaf is
then the lowest bit left standing. Every split of every tree is tested, but as a straight,
branch-free loop over a block of rows (vectorised by LLVM through numba), and one pass
evaluates several forests (the classifier and the amount model) on the same block.

The result is *identical* to scikit-learn's ``_raw_predict`` — same comparisons in float64,
same missing-value and categorical rules, same summation order — and the tests check it bit
for bit. A forest this module cannot reproduce (more than 64 leaves in a tree, categories that
are not small non-negative integers, several outputs) is refused with ``NotCompilable`` and the
caller keeps scikit-learn's path.

Compiled forests are built on first use from the fitted estimator and cached beside it (a
weak reference, keyed on its list of trees), so nothing extra is saved with a model.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np

MAX_LEAVES = 64  # leaves per tree a 64-bit mask can hold
MAX_CATEGORY = 4096  # largest raw category code the bitsets cover
BLOCK_ROWS = 256  # rows per block: the block's used features stay in the L1/L2 cache
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)


class NotCompilable(ValueError):
    """The fitted forest uses a feature this module does not reproduce exactly."""


def debruijn_table() -> np.ndarray:
    """Position of the lowest set bit of ``x`` = ``table[((x & -x) * DEBRUIJN) >> 58]``."""
    table = np.zeros(64, dtype=np.int64)
    with np.errstate(over="ignore"):
        for i in range(64):
            table[int((np.uint64(1) << np.uint64(i)) * _DEBRUIJN) >> 58] = i
    return table


@dataclass(frozen=True)
class CompiledForest:
    """The split nodes of one or more forests in flat arrays (see the module's docstring).

    ``columns`` are the columns of ``X`` the splits read, in the order of the kernel's block
    buffer; a node's ``feature`` indexes that order. Trees are stored forest by forest;
    ``tree_forest`` says which output each tree adds to, from its ``baselines`` entry.
    """

    columns: np.ndarray  # int64 (n_used,)
    feature: np.ndarray  # int64 (n_nodes,) position in ``columns``
    threshold: np.ndarray  # float64 (n_nodes,)
    missing_left: np.ndarray  # bool (n_nodes,)
    mask: np.ndarray  # uint64 (n_nodes,) leaves kept when the row goes right
    category: np.ndarray  # int64 (n_nodes,) row of ``left_bits``/``known_bits``; -1: numeric
    left_bits: np.ndarray  # uint32 (n_categorical_nodes, words) raw codes going left
    known_bits: np.ndarray  # uint32 (n_categorical_nodes, words) raw codes seen in training
    tree_start: np.ndarray  # int64 (n_trees + 1,) first node of each tree
    tree_forest: np.ndarray  # int64 (n_trees,)
    leaf_values: np.ndarray  # float64 (n_trees, max leaves) in left-to-right leaf order
    baselines: np.ndarray  # float64 (n_forests,)

    def raw(self, X: np.ndarray, block: int = BLOCK_ROWS) -> np.ndarray:
        """Raw predictions (log-odds for a classifier), shape (n, n_forests)."""
        X = np.asarray(X, dtype=np.float64)
        out = np.empty((X.shape[0], self.baselines.size), dtype=np.float64)
        if X.shape[0]:
            with _KERNEL_LOCK:
                self._run(X, out, block)
        return out

    def _run(self, X: np.ndarray, out: np.ndarray, block: int) -> None:
        _forest_sums(
            X,
            self.columns,
            self.feature,
            self.threshold,
            self.missing_left,
            self.mask,
            self.category,
            self.left_bits,
            self.known_bits,
            self.tree_start,
            self.tree_forest,
            self.leaf_values,
            self.baselines,
            _TABLE,
            out,
            block,
        )


_TABLE = debruijn_table()


def ordered_leaves(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> list[list[int]]:
    """For every node of a tree (root 0), its leaves' left-to-right positions."""
    below: list[list[int]] = [[] for _ in range(is_leaf.size)]
    position = 0
    # iterative post-order: children before parents, left subtree before right
    stack = [(0, False)]
    while stack:
        node, done = stack.pop()
        if is_leaf[node]:
            below[node] = [position]
            position += 1
        elif done:
            below[node] = below[left[node]] + below[right[node]]
        else:
            stack += [(node, True), (int(right[node]), False), (int(left[node]), False)]
    return below


def model_columns(estimator) -> np.ndarray:
    """The column of ``X`` behind each feature index of the fitted trees: scikit-learn puts
    the categorical columns first (through its ordinal encoder), then the numeric ones."""
    is_categorical = getattr(estimator, "is_categorical_", None)
    if getattr(estimator, "_preprocessor", None) is None or is_categorical is None:
        return np.arange(estimator.n_features_in_, dtype=np.int64)
    return np.concatenate([np.flatnonzero(is_categorical), np.flatnonzero(~is_categorical)])


def raw_categories(estimator) -> list[np.ndarray]:
    """The raw codes seen in training of each categorical feature, in the encoder's order."""
    if getattr(estimator, "_preprocessor", None) is None:
        return []
    encoder = estimator._preprocessor.named_transformers_["encoder"]
    out = []
    for values in encoder.categories_:
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        whole = values == np.floor(values)
        if values.size and (not whole.all() or values.min() < 0 or values.max() >= MAX_CATEGORY):
            raise NotCompilable("categorical codes must be integers in [0, 4096)")
        out.append(values.astype(np.int64))
    return out


def category_bits(codes: np.ndarray, words: int) -> np.ndarray:
    """A bitset (``words`` uint32) with the bits of ``codes`` set."""
    bits = np.zeros(words, dtype=np.uint32)
    for code in codes:
        bits[code >> 5] |= np.uint32(1) << np.uint32(code & 31)
    return bits


def compiled(estimators: Sequence) -> CompiledForest:
    """The forests of fitted ``HistGradientBoosting*`` estimators (one output each), in one
    ``CompiledForest`` whose ``raw`` returns their raw predictions side by side."""
    per_tree_nodes: list[dict] = []
    tree_forest, leaf_values, baselines = [], [], []
    used: dict[int, int] = {}
    left_bits, known_bits = [], []
    words = MAX_CATEGORY // 32
    for k, estimator in enumerate(estimators):
        if any(len(iteration) != 1 for iteration in estimator._predictors):
            raise NotCompilable("only single-output forests are compiled")
        columns = model_columns(estimator)
        categories = raw_categories(estimator)
        baselines.append(float(np.ravel(estimator._baseline_prediction)[0]))
        for (predictor,) in estimator._predictors:
            nodes = predictor.nodes
            is_leaf = nodes["is_leaf"].astype(bool)
            if is_leaf.sum() > MAX_LEAVES:
                raise NotCompilable(f"a tree has more than {MAX_LEAVES} leaves")
            below = ordered_leaves(nodes["left"], nodes["right"], is_leaf)
            values = np.zeros(MAX_LEAVES)
            for node in np.flatnonzero(is_leaf):
                values[below[node][0]] = nodes["value"][node]
            leaf_values.append(values)
            tree_forest.append(k)
            split = {"feature": [], "threshold": [], "missing_left": [], "mask": [], "cat": []}
            for node in np.flatnonzero(~is_leaf):
                column = int(columns[nodes["feature_idx"][node]])
                split["feature"].append(used.setdefault(column, len(used)))
                split["threshold"].append(float(nodes["num_threshold"][node]))
                split["missing_left"].append(bool(nodes["missing_go_to_left"][node]))
                mask = _ALL
                for leaf in below[nodes["left"][node]]:
                    mask &= ~(np.uint64(1) << np.uint64(leaf))
                split["mask"].append(mask)
                if nodes["is_categorical"][node]:
                    seen = categories[int(nodes["feature_idx"][node])]
                    bitset = predictor.raw_left_cat_bitsets[nodes["bitset_idx"][node]]
                    encoded = np.arange(seen.size)
                    goes_left = (bitset[encoded >> 5] >> (encoded & 31).astype(np.uint32)) & 1
                    split["cat"].append(len(left_bits))
                    left_bits.append(category_bits(seen[goes_left.astype(bool)], words))
                    known_bits.append(category_bits(seen, words))
                else:
                    split["cat"].append(-1)
            per_tree_nodes.append(split)
    starts = np.cumsum([0] + [len(t["feature"]) for t in per_tree_nodes])

    def flat(key: str, dtype) -> np.ndarray:
        return np.array([v for t in per_tree_nodes for v in t[key]], dtype=dtype)

    empty_bits = np.zeros((1, words), dtype=np.uint32)
    return CompiledForest(
        columns=np.array(list(used), dtype=np.int64),
        feature=flat("feature", np.int64),
        threshold=flat("threshold", np.float64),
        missing_left=flat("missing_left", np.bool_),
        mask=flat("mask", np.uint64),
        category=flat("cat", np.int64),
        left_bits=np.array(left_bits, dtype=np.uint32) if left_bits else empty_bits,
        known_bits=np.array(known_bits, dtype=np.uint32) if known_bits else empty_bits,
        tree_start=starts.astype(np.int64),
        tree_forest=np.array(tree_forest, dtype=np.int64),
        leaf_values=np.array(leaf_values, dtype=np.float64).reshape(-1, MAX_LEAVES),
        baselines=np.array(baselines, dtype=np.float64),
    )


# numba's fallback threading layer (workqueue) refuses concurrent parallel calls, which a
# server's sessions could make: one pass at a time (each pass is parallel already)
_KERNEL_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached(owner, estimators: Sequence) -> CompiledForest | None:
    """The compiled forest of ``estimators``, built once per ``owner`` and the trees they hold
    (a refit makes new trees and a new forest); ``None`` when they cannot be compiled. An owner
    may keep several (the classifier alone, the classifier with the amount model)."""
    trees = tuple(e._predictors for e in estimators)
    entries = _CACHE.setdefault(owner, {})
    key = tuple(id(e) for e in estimators)
    hit = entries.get(key)
    # identity, not ids alone: the cache holds the very tree lists it compiled, so a freed list
    # whose id is reused by a refit cannot be mistaken for them
    if hit is not None and all(a is b for a, b in zip(hit[0], trees, strict=True)):
        return hit[1]
    try:
        forest = compiled(estimators)
    except NotCompilable:
        forest = None
    entries[key] = (trees, forest)
    return forest


@nb.njit(parallel=True, cache=True, nogil=True)
def _forest_sums(
    X,
    columns,
    feature,
    threshold,
    missing_left,
    mask,
    category,
    left_bits,
    known_bits,
    tree_start,
    tree_forest,
    leaf_values,
    baselines,
    table,
    out,
    block,
):  # pragma: no cover - compiled by numba; checked against scikit-learn by the tests
    n = X.shape[0]
    n_used = columns.shape[0]
    n_trees = tree_forest.shape[0]
    n_out = baselines.shape[0]
    everything = np.uint64(0xFFFFFFFFFFFFFFFF)
    debruijn = np.uint64(0x03F79D71B4CB0A89)
    n_blocks = (n + block - 1) // block
    for b in nb.prange(n_blocks):
        start = b * block
        m = min(n, start + block) - start
        buf = np.empty((n_used, m))
        for r in range(m):
            for j in range(n_used):
                buf[j, r] = X[start + r, columns[j]]
        acc = np.empty((n_out, m))
        for k in range(n_out):
            for r in range(m):
                acc[k, r] = baselines[k]
        masks = np.empty(m, dtype=np.uint64)
        for t in range(n_trees):
            for r in range(m):
                masks[r] = everything
            for node in range(tree_start[t], tree_start[t + 1]):
                col = buf[feature[node]]
                keep = mask[node]
                if category[node] >= 0:
                    c_row = category[node]
                    for r in range(m):
                        v = col[r]
                        left = missing_left[node]
                        if v >= 0.0 and v < 4096.0 and v == np.floor(v):
                            c = np.int64(v)
                            word = c >> 5
                            bit = np.uint32(c & 31)
                            if (known_bits[c_row, word] >> bit) & np.uint32(1):
                                left = ((left_bits[c_row, word] >> bit) & np.uint32(1)) == 1
                        if not left:
                            masks[r] &= keep
                elif missing_left[node]:
                    th = threshold[node]
                    for r in range(m):
                        # NaN > th is false: missing values go left
                        masks[r] &= keep | (everything * np.uint64(not col[r] > th))
                else:
                    th = threshold[node]
                    for r in range(m):
                        # NaN <= th is false: missing values go right
                        masks[r] &= keep | (everything * np.uint64(col[r] <= th))
            k = tree_forest[t]
            for r in range(m):
                x = masks[r]
                lowest = x & (~x + np.uint64(1))
                acc[k, r] += leaf_values[t, table[(lowest * debruijn) >> np.uint64(58)]]
        for k in range(n_out):
            for r in range(m):
                out[start + r, k] = acc[k, r]
