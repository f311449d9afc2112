'''The helper functions `nnreport code` writes into a script for the configured layer types
(engine/layers/code_nd.py calls them), as a student would write them in a notebook: plain
NumPy, an explicit loop over a convolution's or a pooling's windows and over an rnn's steps.
Each takes and returns arrays with the samples first; a backward helper returns the
gradients of the sum of the samples' losses (the caller scales the parameters' by 1 or 1/m).

Each is fixed text: nothing from a spec is in it.'''

from __future__ import annotations

CONV = '''\
def conv_forward(x, W, b, stride, padding):
    """Z[n, f, i, j] = sum over c, p, q of xp[n, c, sh i + p, sw j + q] W[f, c, p, q] + b[f]:
    cross-correlation as PyTorch's Conv2d; x [samples, C, H, W], W [F, C, kh, kw], b [F], xp
    is x with `padding` zeros on every side."""
    (sh, sw), (ph, pw) = stride, padding
    F, C, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    Z = np.zeros((len(x), F, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, sh * i:sh * i + kh, sw * j:sw * j + kw]  # [samples, C, kh, kw]
            Z[:, :, i, j] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return Z


def conv_backward(x, W, dZ, stride, padding):
    """dX, dW and db from dZ: each window sends dZ[n, f, i, j] W[f] back to the entries it
    read (the padding's are dropped); dW adds up each window times its dZ."""
    (sh, sw), (ph, pw) = stride, padding
    F, C, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dW = np.zeros(xp.shape), np.zeros(W.shape)
    for i in range(dZ.shape[2]):
        for j in range(dZ.shape[3]):
            rows, cols = slice(sh * i, sh * i + kh), slice(sw * j, sw * j + kw)
            d = dZ[:, :, i, j]  # [samples, F]
            dW += np.tensordot(d, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(d, W, axes=([1], [0]))
    dX = dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]
    return dX, dW, dZ.sum(axis=(0, 2, 3))
'''

_POOL = '''\
def {kind}_pool_forward(x, size, stride):
    """Each window's {what}, channel by channel (x [samples, C, H, W], no padding)."""
    (kh, kw), (sh, sw) = size, stride
    m, C, H, W = x.shape
    out = np.zeros((m, C, (H - kh) // sh + 1, (W - kw) // sw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[:, :, sh * i:sh * i + kh, sw * j:sw * j + kw].{fn}(axis=(2, 3))
    return out

'''

MAX_POOL = _POOL.format(kind="max", what="maximum", fn="max") + '''
def max_pool_backward(x, dH, size, stride):
    """dX: each window's gradient goes to its first maximum in row-major order (PyTorch's
    rule); overlapping windows add up."""
    (kh, kw), (sh, sw) = size, stride
    m, C = x.shape[:2]
    n, c = np.meshgrid(np.arange(m), np.arange(C), indexing="ij")
    dX = np.zeros(x.shape)
    for i in range(dH.shape[2]):
        for j in range(dH.shape[3]):
            window = x[:, :, sh * i:sh * i + kh, sw * j:sw * j + kw].reshape(m, C, kh * kw)
            k = window.argmax(axis=2)  # the first maximum
            dX[n, c, sh * i + k // kw, sw * j + k % kw] += dH[:, :, i, j]
    return dX
'''

AVG_POOL = _POOL.format(kind="avg", what="mean", fn="mean") + '''
def avg_pool_backward(x, dH, size, stride):
    """dX: each window's gradient spread evenly, 1 / (kh kw) to each of its entries;
    overlapping windows add up."""
    (kh, kw), (sh, sw) = size, stride
    dX = np.zeros(x.shape)
    for i in range(dH.shape[2]):
        for j in range(dH.shape[3]):
            share = dH[:, :, i, j] / (kh * kw)
            dX[:, :, sh * i:sh * i + kh, sw * j:sw * j + kw] += share[:, :, None, None]
    return dX
'''

BATCHNORM = '''\
def batchnorm_forward(x, gamma, beta, eps):
    """gamma xhat + beta, xhat = (x - mu) / sqrt(var + eps): each feature normalised by the
    batch's mean and biased variance (training mode; x [samples, features])."""
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta


def batchnorm_backward(x, gamma, dH, eps):
    """dX, dgamma and dbeta from dH, by the closed form
    dX = (m dxhat - sum dxhat - xhat sum(dxhat xhat)) / (m sqrt(var + eps)), dxhat = dH gamma
    (the sums over the samples: mu and var couple them)."""
    m = len(x)
    mu = x.mean(axis=0)
    std = np.sqrt(((x - mu) ** 2).mean(axis=0) + eps)
    xhat = (x - mu) / std
    dxhat = dH * gamma
    dX = (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (m * std)
    return dX, (dH * xhat).sum(axis=0), dH.sum(axis=0)
'''

DROPOUT = '''\
def dropout(h, mask, p):
    """Inverted dropout with the given mask, forward and backward alike: h * mask / (1 - p).
    A batch of n samples uses the mask's rows 1..n in order (row i % rows on a longer pass,
    such as the loss over every sample)."""
    return h * mask[np.arange(len(h)) % len(mask)] / (1 - p)
'''

RNN_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")

RNN = '''\
RNN_ACT = {  # an rnn's activation and its derivative from (z, h)
    "tanh": (np.tanh, lambda z, h: 1 - h * h),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: 1.0 * (z > 0)),
    "sigmoid": (lambda z: np.exp(-np.logaddexp(0.0, -z)), lambda z, h: h * (1 - h)),
    "linear": (lambda z: z, lambda z, h: np.ones(z.shape)),
}


def rnn_start(h0, m, U):
    """h_0 of every sample: the parameter h0, or zeros when it is None."""
    return np.zeros((m, U)) if h0 is None else np.tile(np.reshape(h0, (1, U)), (m, 1))


def rnn_forward(x, Wx, Wh, b, h0, act):
    """Z and H [samples, steps, units]: h_t = act(x_t Wx + h_{t-1} Wh + b), t = 1..T."""
    m, T = x.shape[:2]
    U = Wx.shape[1]
    h = rnn_start(h0, m, U)
    Z, H = np.zeros((m, T, U)), np.zeros((m, T, U))
    for t in range(T):
        Z[:, t] = x[:, t] @ Wx + h @ Wh + np.reshape(b, (1, U))
        H[:, t] = h = RNN_ACT[act][0](Z[:, t])
    return Z, H


def rnn_backward(x, Wx, Wh, b, h0, act, dout):
    """Backpropagation through time over the full length: dX, dWx, dWh, db and dh0 (None
    without h0). dout is dL/dh_T [samples, units] (return: last) or dL/dH [samples, steps,
    units] (return: sequence); each h_t also gets dz_{t+1} Wh^T from the step after it."""
    Z, H = rnn_forward(x, Wx, Wh, b, h0, act)
    m, T, U = H.shape
    dH = np.zeros(H.shape)
    if dout.ndim == 2:  # return: last: only h_T feeds the next layer
        dH[:, -1] = dout
    else:
        dH += dout
    dX, dWx, dWh, db = np.zeros(x.shape), np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(U)
    for t in reversed(range(T)):
        dz = dH[:, t] * RNN_ACT[act][1](Z[:, t], H[:, t])
        before = H[:, t - 1] if t else rnn_start(h0, m, U)  # h_{t-1}
        dWx += x[:, t].T @ dz
        dWh += before.T @ dz
        db += dz.sum(axis=0)
        dX[:, t] = dz @ Wx.T
        if t:
            dH[:, t - 1] += dz @ Wh.T
    dh0 = None if h0 is None else np.reshape((dz @ Wh.T).sum(axis=0), np.shape(h0))
    return dX, dWx, dWh, np.reshape(db, np.shape(b)), dh0
'''

ATTENTION = '''\
def attention_parts(x, Wq, Wk, Wv, causal):
    """Q, K, V and the weights A = softmax of each row of S = Q K^T / sqrt(d_k) (causal: -inf
    above the diagonal, token i attends to tokens j <= i); x [samples, tokens, features]."""
    Q, K, V = x @ Wq, x @ Wk, x @ Wv
    S = Q @ K.transpose(0, 2, 1) / np.sqrt(Wq.shape[1])
    if causal:
        S = np.where(np.tril(np.ones(S.shape[1:])) > 0, S, -np.inf)
    E = np.exp(S - S.max(axis=2, keepdims=True))
    return Q, K, V, E / E.sum(axis=2, keepdims=True)


def attention_forward(x, Wq, Wk, Wv, causal):
    """Single-head self-attention: H = A V [samples, tokens, d_v]."""
    Q, K, V, A = attention_parts(x, Wq, Wk, Wv, causal)
    return A @ V


def attention_backward(x, Wq, Wk, Wv, causal, dH):
    """dX, dWq, dWk and dWv from dH: dV = A^T dH, dA = dH V^T, through each row's softmax
    dS = A * (dA - sum_j dA A), dQ = dS K / sqrt(d_k), dK = dS^T Q / sqrt(d_k)."""
    Q, K, V, A = attention_parts(x, Wq, Wk, Wv, causal)
    r = 1 / np.sqrt(Wq.shape[1])
    dV = A.transpose(0, 2, 1) @ dH
    dA = dH @ V.transpose(0, 2, 1)
    dS = A * (dA - (dA * A).sum(axis=2, keepdims=True))
    dQ, dK = (dS @ K) * r, (dS.transpose(0, 2, 1) @ Q) * r
    xt = x.transpose(0, 2, 1)
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return dX, (xt @ dQ).sum(axis=0), (xt @ dK).sum(axis=0), (xt @ dV).sum(axis=0)
'''
