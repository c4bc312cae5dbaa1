"""Looking inside one sequence: PCA of h_t, saliency ||dy_t/dx_s||, W_hh eigenvalues, step Jacobian norms,
each gate's input and recurrent terms.

Pure torch + numpy on a Run and one input sequence x (1, T, I). Not the pages that show these
(explorer/ui/inspect_page.py), not the charts that draw them (explorer/charts/geometry.py), and not the
equations written out with a step's numbers (explorer/charts/equations.py).
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch

from explorer import budget, inspect_scan
from explorer.config import LIMITS, SCAN_ARCHS
from explorer.run import Run
from explorer.cells import CELLS
from explorer.trace import cell_step, layer_weights, run_direction

EXACT_MAX_STATE = 64  # state sizes up to this: exact spectral norm (SVD); above: Lanczos
LANCZOS_STEPS = 24  # Krylov dimension for the spectral norm of large Jacobians
SALIENCY_BUDGET = 2e8  # (output rows) x T x max(H, 32)^2 for the full saliency matrix; above: one step at a time


def frozen(run: Run) -> Run:
    """A read-only copy of run at this step: its own model copy, so inspecting it needs no lock.

    Call it while the run is held still (Worker.models()). The copy cannot train (no optimizer).
    """
    snap = copy.copy(run)
    snap.model = copy.deepcopy(run.model)  # parameters keep requires_grad: the trace differentiates through them
    snap.params, snap.optimizer = [], None
    snap.history = run.history.copy()
    return snap


# -- geometry of the hidden states ---------------------------------------------------------

def pca(hidden: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """hidden (T, H) -> points (T, k) on the top k principal components, and each one's share of variance.

    Components beyond rank (H or T too small) are zero columns with share 0. Signs are fixed (the
    largest loading positive), so the picture does not flip between calls. Steps whose state is not
    finite (an overflowing relu RNN) are left out of the fit and get NaN points.
    """
    hidden = np.asarray(hidden, dtype=float)
    finite = np.isfinite(hidden).all(axis=1)  # (T,)
    points = np.full((hidden.shape[0], k), np.nan)
    explained = np.zeros(k)
    if finite.sum() < 2:
        points[finite] = 0.0
        return points, explained
    centred = hidden[finite] - hidden[finite].mean(axis=0)  # (T_finite, H)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # vt (r, H)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    vt = vt * np.where(signs == 0, 1, signs)[:, None]
    r = min(k, len(s))
    points[finite] = 0.0
    points[finite, :r] = centred @ vt[:r].T
    total = float((s ** 2).sum())
    explained[:r] = (s[:r] ** 2) / total if total > 0 else 0.0
    return points, explained


# -- saliency ------------------------------------------------------------------------------

def full_saliency_fits(run: Run, x: torch.Tensor) -> bool:
    """Whether saliency(run, x) for every output step stays within SALIENCY_BUDGET (work ~ rows x T x H^2)."""
    T = x.shape[1]
    return T * run.task.output_size * T * max(run.config.hidden_size, 32) ** 2 <= SALIENCY_BUDGET


def saliency(run: Run, x: torch.Tensor, steps: list[int] | None = None) -> np.ndarray:
    """(len(steps), T) matrix S[k, s] = ||dy_t / dx_s|| (Frobenius over outputs and input features), t = steps[k].

    y_t is the model's raw output at step t (logits, or values). Autograd on the fused model: the
    sequence is repeated once per (t, output unit) in the batch, one backward pass per chunk of rows.
    steps=None means every output step.
    """
    B, T, I = x.shape  # (1, T, I)
    if B != 1:
        raise ValueError(f"saliency takes one sequence (batch of 1); got a batch of {B}")
    steps = list(range(T)) if steps is None else [int(t) for t in steps]
    O = run.task.output_size
    rows = [(k, t, o) for k, t in enumerate(steps) for o in range(O)]
    squared = torch.zeros(len(steps), T, dtype=torch.float64)
    chunk = budget.rows_per_pass(run.config, LIMITS.visitor_memory_mb)  # a pass holds this many sequences
    with torch.enable_grad():
        for start in range(0, len(rows), chunk):
            part = torch.tensor(rows[start:start + chunk])  # (R, 3): k, t, o
            xr = x.detach().expand(len(part), T, I).clone().requires_grad_(True)  # (R, T, I)
            y = run.model(xr)  # (R, T, O)
            picked = y[torch.arange(len(part)), part[:, 1], part[:, 2]].sum()
            (grad,) = torch.autograd.grad(picked, xr)  # (R, T, I): row r holds dy_{t_r, o_r} / dx
            squared.index_add_(0, part[:, 0], grad.double().pow(2).sum(-1))
    return squared.sqrt().numpy()


# -- recurrent weights ---------------------------------------------------------------------

def _recurrent(run: Run):
    if run.config.arch == "transformer":
        raise ValueError("The Transformer has no recurrent weights W_hh: it attends instead of recurring")
    return run.model.rnn


def recurrent_block(run: Run, layer: int = 0, direction: int = 0) -> np.ndarray:
    """The (H, H) block of weight_hh whose eigenvalues we show.

    rnn: all of W_hh. lstm: W_hg, the cell candidate g's block. gru: W_hn, the new gate n's block
    (in torch's n_t = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn)), so scaled by r). The sigmoid
    gates' blocks set when to write or keep; g and n carry h_{t-1} into the new content.
    """
    rnn = _recurrent(run)
    w = layer_weights(rnn, layer, direction)[1].detach()  # (G*H, H)
    cell = CELLS[run.config.arch]
    if cell.eigen_block is not None:
        w = w.chunk(len(cell.chunks))[cell.chunks.index(cell.eigen_block)]  # (H, H)
    return w.double().numpy()


def spectrum(w: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(complex eigenvalues, spectral radius max |lambda|, largest singular value) of a square matrix."""
    eigvals = np.linalg.eigvals(w)
    return eigvals, float(np.abs(eigvals).max(initial=0.0)), float(np.linalg.norm(w, 2))


def recurrent_eigenvalues(run: Run, layer: int = 0, direction: int = 0) -> tuple[np.ndarray, float]:
    """Complex eigenvalues of recurrent_block() (see there: all of W_hh, or the g / n block), and the
    spectral radius max |lambda|."""
    eigvals, radius, _ = spectrum(recurrent_block(run, layer, direction))
    return eigvals, radius


def _layer_input(rnn, arch: str, x: torch.Tensor, layer: int) -> torch.Tensor:
    """The input sequence of `layer`: x, or the lower layer's outputs (B, T, D*H)."""
    D = 2 if rnn.bidirectional else 1
    for k in range(layer):
        runs = [run_direction(rnn, arch, x, k, d) for d in range(D)]
        x = torch.cat([torch.stack(r[0], dim=1) for r in runs], dim=-1)
    return x


def step_jacobians_inputs(run: Run, x: torch.Tensor, layer: int = 0, direction: int = 0):
    """-> (step(prev, xw) one step on one row, xw (T, G*H), prev (T, S)): what every step's Jacobian needs.

    The state is s_t = h_t (rnn, gru) or (h_t, c_t) (lstm, S = 2H). prev[t] is the state before step t
    in reading order: s_{t-1} forward, s_{t+1} for direction 1, zeros at the first step read.
    """
    rnn, arch = _recurrent(run), run.config.arch
    w_ih, w_hh, b_ih, b_hh = layer_weights(rnn, layer, direction)
    nonlinearity = getattr(rnn, "nonlinearity", "tanh")
    H = rnn.hidden_size
    with torch.no_grad():
        layer_input = _layer_input(rnn, arch, x, layer)
        hs, cs, _ = run_direction(rnn, arch, layer_input, layer, direction)
        states = torch.stack([torch.cat([h, c], -1) if arch == "lstm" else h for h, c in zip(hs, cs)], 1)[0]  # (T, S)
        zero = torch.zeros_like(states[:1])
        prev = torch.cat([states[1:], zero]) if direction else torch.cat([zero, states[:-1]])  # (T, S)
        xw = (layer_input @ w_ih.T + b_ih)[0]  # (T, G*H)

    def step(s, xw_t):
        h, c = (s[..., :H], s[..., H:]) if arch == "lstm" else (s, None)
        h, c, _ = cell_step(arch, nonlinearity, xw_t, h, c, w_hh, b_hh)
        return torch.cat([h, c], -1) if arch == "lstm" else h

    return step, xw, prev


def step_jacobian_norms(run: Run, x: torch.Tensor, layer: int = 0, direction: int = 0,
                        exact_max: int = EXACT_MAX_STATE) -> np.ndarray:
    """(T,) spectral norm (largest singular value) of ds_t/ds_{t-1} at each input step t, one layer.

    s_t = h_t for rnn and gru; (h_t, c_t) for lstm, the state the gradient actually flows through.
    The layer's input is held fixed. Indexed by input step t, as Trace is; for direction 1 the
    previous state is s_{t+1}. The Jacobian of every step comes from autograd through trace.cell_step;
    the norm is exact (SVD) for states up to exact_max units, else estimated by Lanczos (from below).
    """
    step, xw, prev = step_jacobians_inputs(run, x, layer, direction)
    T, S = prev.shape
    with torch.enable_grad():
        if S <= exact_max:
            jac = torch.func.vmap(torch.func.jacrev(step))(prev, xw)  # (T, S_out, S_in)
            return torch.linalg.matrix_norm(jac.double(), ord=2).detach().numpy()
        return _lanczos_norms(step, prev, xw).numpy()


def _lanczos_norms(step, prev: torch.Tensor, xw: torch.Tensor) -> torch.Tensor:
    """Largest singular value of every step's Jacobian J_t: sqrt of the top eigenvalue of J_t^T J_t by
    LANCZOS_STEPS of Lanczos on all steps at once (Ritz values never exceed the true one, and the top one
    converges fast even when the largest singular values lie close together, where power iteration crawls)."""
    _, pullback = torch.func.vjp(lambda s: step(s, xw), prev)

    def gram(v):  # (T, S) -> J_t^T J_t v_t
        _, jv = torch.func.jvp(lambda s: step(s, xw), (prev,), (v,))
        return pullback(jv)[0]

    q = torch.randn(prev.shape, generator=torch.Generator().manual_seed(0))
    q = q / q.norm(dim=-1, keepdim=True)
    q_prev, beta = torch.zeros_like(q), torch.zeros(prev.shape[0])
    alphas, betas = [], []
    for _ in range(min(LANCZOS_STEPS, prev.shape[1])):
        w = gram(q).detach()
        alpha = (w * q).sum(-1)
        w = w - alpha[:, None] * q - beta[:, None] * q_prev
        beta = w.norm(dim=-1)
        alphas.append(alpha)
        betas.append(beta)
        done = beta <= 1e-6 * alpha.abs().clamp_min(1e-30)  # an invariant subspace: the spectrum is found
        q_prev, q = q, torch.where(done[:, None], 0.0, w / beta.clamp_min(1e-30)[:, None])
        beta = torch.where(done, 0.0, beta)
    m = len(alphas)
    tri = torch.diag_embed(torch.stack(alphas, -1).double())  # (T, m, m) tridiagonal
    off = torch.stack(betas[:-1], -1).double() if m > 1 else None
    if off is not None:
        off = torch.where(off <= 1e-6 * tri.diagonal(dim1=-2, dim2=-1)[:, :-1].abs(), 0.0, off)
        tri = tri + torch.diag_embed(off, offset=1) + torch.diag_embed(off, offset=-1)
    return torch.linalg.eigvalsh(tri)[:, -1].clamp_min(0).sqrt()


def product_bound(norms: np.ndarray, direction: int = 0) -> np.ndarray:
    """(T,) upper bound on ||ds_last/ds_t||: the product of the step norms read after t.

    ||ds_{T-1}/ds_t|| <= prod_{k=t+1}^{T-1} ||ds_k/ds_{k-1}|| (forward); direction 1 reads backwards,
    so its last state is s_0 and the product runs over k = 0 .. t-1.
    """
    norms = np.asarray(norms, dtype=float)
    logs = np.log(np.maximum(norms, 1e-300))
    if direction:
        logs = logs[::-1]
    after = np.concatenate([np.cumsum(logs[::-1])[::-1][1:], [0.0]])  # sum over k > t
    bound = np.exp(np.clip(after, -700, 700))
    return bound[::-1] if direction else bound


# -- one step's numbers, for the equations (explorer/charts/equations.py writes them out) -------

def cell_terms(run: Run, hidden: np.ndarray, cell: np.ndarray | None, layer_input: np.ndarray,
               layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
    """Input and recurrent parts of every gate's pre-activation, per step: name -> (T, H).

    hidden, cell (T, H) this direction's states; layer_input (T, I_l). Names: "x:<gate>" =
    (W_i<gate> x_t + b_i<gate>), "h:<gate>" = (W_h<gate> h_prev + b_h<gate>), "h_prev", "c_prev";
    rnn's single block is called "h". h_prev is h_{t-1} (h_{t+1} for direction 1), 0 at the first step read.
    """
    rnn, arch = _recurrent(run), run.config.arch
    w_ih, w_hh, b_ih, b_hh = (w.detach().double().numpy() for w in layer_weights(rnn, layer, direction))
    shift = (lambda a: np.concatenate([a[1:], np.zeros_like(a[:1])])) if direction else \
        (lambda a: np.concatenate([np.zeros_like(a[:1]), a[:-1]]))
    h_prev = shift(np.asarray(hidden, dtype=float))  # (T, H)
    xw = np.asarray(layer_input, dtype=float) @ w_ih.T + b_ih  # (T, G*H)
    hw = h_prev @ w_hh.T + b_hh  # (T, G*H)
    names = CELLS[arch].chunks
    terms = {"h_prev": h_prev}
    for name, a, b in zip(names, np.split(xw, len(names), axis=1), np.split(hw, len(names), axis=1)):
        terms["x:" + name], terms["h:" + name] = a, b
    if cell is not None:
        terms["c_prev"] = shift(np.asarray(cell, dtype=float))
    return terms


# -- one sequence, computed once and looked at many times -----------------------------------------

class Inspection:
    """One sequence x (1, T, I), y through a run (pass frozen(run) when it may train on): the trace at
    once, the rest on first use and cached. Layer-wise results are keyed by (layer, direction)."""

    MAX_ROWS = 256  # saliency rows kept when they are computed one output step at a time

    def __init__(self, run: Run, x: torch.Tensor, y: torch.Tensor) -> None:
        self.run, self.x, self.y = run, x, y
        self.trace = run.trace(x, y)  # B = 1
        self.step = run.step
        self.T = x.shape[1]
        self._cache: dict[tuple, object] = {}
        self._rows: dict[int, np.ndarray] = {}
        # computes saliency rows [t] -> (1, T) elsewhere (a pool process); None: here
        self.row_source: Callable[[list[int]], np.ndarray] | None = None

    def prepare(self) -> "Inspection":
        """Compute now what the page shows first: the whole saliency matrix when affordable, and every
        layer's eigenvalues and Jacobian norms (so a pool process does the work, not the page)."""
        if full_saliency_fits(self.run, self.x):
            self.saliency_row(0)
        if self.run.config.arch != "transformer":
            L, D = self.trace.shape[:2]
            for layer in range(L):
                for direction in range(D):
                    self.eigenvalues(layer, direction), self.jacobian_norms(layer, direction)
        return self

    def __getstate__(self) -> dict:
        state = dict(self.__dict__, row_source=None)  # a page's callable stays with the page
        state["run"] = copy.copy(self.run)
        state["run"].generator = None  # training batches: an inspection never draws them
        return state

    def _cached(self, key: tuple, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def saliency_row(self, t: int) -> np.ndarray:
        """(T,) ||dy_t/dx_s|| over input steps s; the whole matrix at once when it is affordable."""
        if full_saliency_fits(self.run, self.x):
            return self._cached(("saliency",), lambda: saliency(self.run, self.x))[t]
        if t not in self._rows:
            if len(self._rows) >= self.MAX_ROWS:
                self._rows.pop(next(iter(self._rows)))
            rows = self.row_source([t]) if self.row_source is not None else saliency(self.run, self.x, [t])
            self._rows[t] = rows[0]
        return self._rows[t]

    def eigenvalues(self, layer: int, direction: int) -> tuple[np.ndarray, float]:
        return self._cached(("eig", layer, direction), lambda: recurrent_eigenvalues(self.run, layer, direction))

    def jacobian_norms(self, layer: int, direction: int) -> np.ndarray:
        if self.trace.arch in SCAN_ARCHS:  # diagonal recurrence: the norm is the largest share kept
            return inspect_scan.step_norms(self.terms(layer, direction))
        return self._cached(("jac", layer, direction), lambda: step_jacobian_norms(self.run, self.x, layer, direction))

    def pca(self, layer: int, direction: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._cached(("pca", layer, direction, k), lambda: pca(self.trace.hidden[layer, direction, 0], k))

    def layer_input(self, layer: int) -> np.ndarray:
        """(T, I_l): x, or the lower layer's h_t of every direction side by side."""
        if layer == 0:
            return self.trace.inputs[0]
        return np.concatenate(list(self.trace.hidden[layer - 1, :, 0]), axis=-1)

    def terms(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        tr = self.trace
        if tr.arch in SCAN_ARCHS:
            return self._cached(("terms", layer), lambda: inspect_scan.scan_terms(self.run, self.x, layer))
        cell = None if tr.cell is None else tr.cell[layer, direction, 0]
        return self._cached(("terms", layer, direction), lambda: cell_terms(
            self.run, tr.hidden[layer, direction, 0], cell, self.layer_input(layer), layer, direction))

    def values(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        """Gate name, "h" and "c" -> (T, H) for one layer and direction."""
        tr = self.trace
        out = {k: v[layer, direction, 0] for k, v in tr.gates.items()} | {"h": tr.hidden[layer, direction, 0]}
        if tr.cell is not None:
            out["c"] = tr.cell[layer, direction, 0]
        return out


# -- in a pool process (explorer/ui/jobs.py): the page sends a saved run, never computes itself ------------

def look(state: bytes, x: torch.Tensor, y: torch.Tensor) -> Inspection:
    """The prepared Inspection of sequence x, y through the run saved in `state`."""
    return Inspection(frozen(Run.load(state)), x, y).prepare()


def saliency_rows(state: bytes, x: torch.Tensor, steps: list[int]) -> np.ndarray:
    """saliency() of the run saved in `state` at these output steps."""
    return saliency(frozen(Run.load(state)), x, steps)
