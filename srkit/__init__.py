"""srkit: single-image super-resolution on Keras 3.

The numpy-only modules (degradations, metrics, io) import no deep-learning
framework, so bicubic evaluation and data preparation start instantly; the
modules that need Keras (layers, models, checkpoints, inference) import it.
"""

__version__ = "0.1.0"
