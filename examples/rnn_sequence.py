"""A character-level vanilla RNN learns to continue generated text.

The text is made in code (sentences drawn from a tiny grammar), so the example
needs nothing but MinPy. The model is CS231n's captioning RNN without images:
embedding -> rnn_temporal -> temporal_affine -> temporal_softmax_loss, trained
with Adam in lazy mode (the whole unrolled forward and backward pass of a
batch is one cached MXNet graph).

    python examples/rnn_sequence.py
"""
import time

import numpy as onp

import minpy
import minpy.numpy as np
from minpy.core import grad_and_loss
from minpy.nn import init, layers, optim


def make_text(sentences=400, seed=0):
    rng = onp.random.RandomState(seed)
    subjects = ["the cat", "a dog", "my friend", "the bird"]
    verbs = ["sees", "likes", "chases", "finds"]
    objects = ["the ball", "a tree", "the moon", "some fish"]
    return " ".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}."
                    for _ in range(sentences))


def batches(codes, batch, steps, rng):
    """Random windows: inputs codes[i:i+T], targets codes[i+1:i+T+1]."""
    starts = rng.randint(0, len(codes) - steps - 1, batch)
    x = onp.stack([codes[s:s + steps] for s in starts])
    y = onp.stack([codes[s + 1:s + steps + 1] for s in starts])
    return x, y


def loss_fn(W_embed, Wx, Wh, b, W_out, b_out, x, y, mask):
    h0 = np.zeros((x.shape[0], Wh.shape[0]))
    h = layers.rnn_temporal(layers.embedding(x, W_embed), h0, Wx, Wh, b)
    scores = layers.temporal_affine(h, W_out, b_out)
    return layers.temporal_softmax_loss(scores, y, mask) / x.shape[1]


def main(iters=300, hidden=64, steps=16, batch=32, embed=16):
    text = make_text()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    codes = onp.array([index[c] for c in text])
    V = len(chars)
    onp.random.seed(0)
    np.random.seed(0)
    params = [init.gaussian((V, embed), {"stdvar": 0.1}),
              init.xavier((embed, hidden)), init.xavier((hidden, hidden)), np.zeros(hidden),
              init.xavier((hidden, V)), np.zeros(V)]
    configs = [{"learning_rate": 1e-2} for _ in params]
    step = grad_and_loss(loss_fn, list(range(6)))
    rng = onp.random.RandomState(1)
    mask = np.ones((batch, steps), dtype="bool")
    t0 = time.perf_counter()
    with minpy.lazy():
        for i in range(iters):
            x, y = batches(codes, batch, steps, rng)
            grads, value = step(*params, np.array(x), np.array(y), mask)
            for k, (p, g) in enumerate(zip(params, grads)):
                params[k], configs[k] = optim.adam(p, g, configs[k])
            minpy.flush()
            if (i + 1) % 100 == 0:
                print(f"iteration {i + 1}: loss per character {float(value):.3f}")
    elapsed = time.perf_counter() - t0

    # next-character accuracy on fresh windows
    W_embed, Wx, Wh, b, W_out, b_out = params
    x, y = batches(codes, 256, steps, onp.random.RandomState(2))
    h = layers.rnn_temporal(layers.embedding(np.array(x), W_embed), np.zeros((256, hidden)), Wx, Wh, b)
    pred = np.argmax(layers.temporal_affine(h, W_out, b_out), axis=2).asnumpy()
    acc = float((pred == y).mean())
    print(f"trained {iters} steps in {elapsed:.2f} s "
          f"({minpy.jit.stats()['cache_misses']} graphs compiled)")
    print(f"next-character accuracy {acc:.3f}")

    # greedy continuation of a prompt
    prompt = "the cat "
    h = np.zeros((1, hidden))
    out = prompt
    for c in prompt[:-1]:
        h = layers.rnn_step(layers.embedding(np.array([index[c]]), W_embed), h, Wx, Wh, b)
    c = prompt[-1]
    for _ in range(40):
        h = layers.rnn_step(layers.embedding(np.array([index[c]]), W_embed), h, Wx, Wh, b)
        c = chars[int(np.argmax(layers.affine(h, W_out, b_out), axis=1)[0])]
        out += c
    print(f"continuation: {out!r}")
    return acc


if __name__ == "__main__":
    main()
