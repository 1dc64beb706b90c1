"""One process's place in a training job: alone (the default), or one worker
of a multi-worker data-parallel job, configured the way each engine
documents it (TensorFlow: ``TF_CONFIG`` and MultiWorkerMirroredStrategy;
JAX: coordinator address, process count and id for
``jax.distributed.initialize``, under ``keras.distribution.DataParallel``).

Each worker feeds its own share of every global batch (``PatchSampler``'s
``shard``); gradients are averaged over the whole global batch, so the job
trains as one process with that batch would. Workers stay in step by making
every decision that depends on a clock or a signal together (``agree``).
"""

import contextlib
import itertools
import json
import os
import sys

import keras

from .errors import SRError

# Environment fallbacks for the JAX settings: keras.distribution.initialize's documented variables.
JAX_ENV = {"coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES", "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
           "process_id": "KERAS_DISTRIBUTION_PROCESS_ID"}
# Words of a JAX error that mean another process is gone.
LOST_PEER = ("Gloo", "Connection reset", "Connection closed", "UNAVAILABLE", "heartbeat")
# Steps between agreements when --log-every 0 (a signal or budget takes effect at one).
SYNC_EVERY = 100


class Job:
    """This process's ``index`` among ``count`` workers; index 0 is the chief
    (the one that validates and writes the run folder)."""

    def __init__(self, backend, index=0, count=1, tf_cluster=None):
        self.backend, self.index, self.count = backend, index, count
        self.tf_cluster = tf_cluster
        self.strategy = None  # TensorFlow's MultiWorkerMirroredStrategy, once distribute() made it

    @property
    def multi(self):
        return self.count > 1

    @property
    def is_chief(self):
        return self.index == 0

    def distribute(self, log):
        """Data parallel over every device of every worker; returns (scope, devices)."""
        if self.backend == "tensorflow":
            import tensorflow as tf

            self.strategy = tf.distribute.MultiWorkerMirroredStrategy()
            n = self.strategy.num_replicas_in_sync
            scope = self.strategy.scope()
        else:
            devices = keras.distribution.list_devices()  # every process's
            # each process feeds its own share of the batch (PatchSampler shard): no dataset auto-sharding
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices,
                                                                               auto_shard_dataset=False))
            n, scope = len(devices), contextlib.nullcontext()
        log(f"worker {self.index} of {self.count} ({'chief' if self.is_chief else 'not the chief'}): "
            f"data parallel over {n} devices ({self.backend})")
        return scope, n

    def prepare(self, model):
        """Work around two faults of Keras 3's TensorFlow trainer under a
        multi-worker strategy: its pre-fit symbolic build reduces a nested
        batch, which MultiWorkerMirroredStrategy cannot, and it averages the
        step's scalar loss along an axis it does not have. The model then
        finds the strategy in the scope ``fit_scope`` opens (as when it was
        built outside one), and its step reports the loss as a 1-vector."""
        if self.strategy is None:
            return
        model._distribute_strategy = None
        step = model.train_step

        def train_step(data):
            return {k: keras.ops.reshape(v, (1,)) if len(v.shape) == 0 else v for k, v in step(data).items()}

        model.train_step = train_step

    def batches(self, sampler, start, count):
        """What one ``fit`` call trains on: the sampler's batches for steps
        ``start`` to ``start + count`` (this worker's share), as a distributed
        dataset under TensorFlow. Exactly ``count``, not an endless stream:
        TensorFlow runs a generator in tf.data's own thread, and a tf.data
        iterator garbage-collected while that thread is inside the generator
        (a teacher's forward pass, say) waits for it with the GIL held: a
        distilling run once sat idle for minutes at a validation, its main
        thread in that destructor. A stream that has ended leaves no such thread."""
        if self.strategy is None:
            return _take(sampler.stream(start), count)
        import tensorflow as tf

        spec = tuple(tf.TensorSpec((None, None, None, c), tf.float32)  # sizes vary with the scale drawn
                     for c in (3, getattr(sampler, "target_channels", 3)))  # targets: + a teacher's output

        def make(ctx):
            if (ctx.input_pipeline_id, ctx.num_input_pipelines) != (self.index, self.count):
                raise SRError(f"TF_CONFIG places this worker at {self.index} of {self.count}, TensorFlow at "
                              f"{ctx.input_pipeline_id} of {ctx.num_input_pipelines}")
            per_replica = ctx.get_per_replica_batch_size(sampler.batch_size)
            ds = tf.data.Dataset.from_generator(lambda: _take(sampler.stream(start), count), output_signature=spec)
            share = sampler.batch_size // self.count
            return ds if per_replica == share else ds.unbatch().batch(per_replica)  # several local devices

        return self.strategy.distribute_datasets_from_function(make)

    @contextlib.contextmanager
    def fit_scope(self):
        """Where ``fit`` runs: in the strategy's scope (see ``prepare``), a
        lost worker turned into a one-line error."""
        with self.guard(), (self.strategy.scope() if self.strategy else contextlib.nullcontext()):
            yield

    @contextlib.contextmanager
    def guard(self):
        """An engine's report of a dead or unreachable worker as one line,
        after which the process leaves at once (see ``_leave``): on both
        engines a normal exit can wait on the dead peer."""
        if not self.multi:
            yield
            return
        if self.strategy is None:  # JAX: its CPU collectives (Gloo) fail at once when a peer's sockets close
            try:
                yield
            except Exception as exc:
                if not any(word in str(exc) for word in LOST_PEER):
                    raise
                _leave(f"worker {self.index}: the job lost a worker ({_reason(str(exc))}); stopping")
            return
        import tensorflow as tf

        try:
            yield
        except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError,
                tf.errors.CancelledError, tf.errors.InternalError) as exc:
            _leave(f"worker {self.index}: the job lost a worker ({_reason(exc.message)}); stopping")

    @contextlib.contextmanager
    def local(self):
        """Single-process work on the chief (validation): JAX's global
        distribution is lifted so the validation model lives on this
        process's devices only."""
        if self.backend != "jax" or not self.multi:
            yield
            return
        saved = keras.distribution.distribution()
        keras.distribution.set_distribution(None)
        try:
            yield
        finally:
            keras.distribution.set_distribution(saved)

    def agree(self, values):
        """The elementwise maximum of ``values`` (numbers) over all workers,
        so that a stop, a save or a chief's decision is taken by everyone at
        the same step. Alone: ``values`` as floats."""
        import numpy as np

        local = np.asarray(values, np.float32).reshape(1, -1)
        if not self.multi:
            return [float(v) for v in local[0]]
        if self.strategy is not None:
            import tensorflow as tf

            def rows(ctx):  # each replica's values in its own row, zeros elsewhere: the sum gathers them
                out = np.zeros((ctx.num_replicas_in_sync, local.shape[1]), np.float32)
                out[ctx.replica_id_in_sync_group] = local[0]
                return tf.constant(out)

            with self.guard():
                per_replica = self.strategy.experimental_distribute_values_from_function(rows)
                every = self.strategy.reduce("SUM", per_replica, axis=None).numpy()
        else:
            from jax.experimental import multihost_utils

            with self.guard():
                every = np.asarray(multihost_utils.process_allgather(local)).reshape(-1, local.shape[1])
        return [float(v) for v in every.max(axis=0)]

    def from_chief(self, value):
        """The chief's ``value`` (a number >= 0) on every worker."""
        return self.agree([value if self.is_chief else 0.0])[0]


def _take(stream, count):
    """The first ``count`` items of ``stream``, as a generator (what Keras's
    fit accepts; an ``itertools.islice`` it refuses)."""
    yield from itertools.islice(stream, count)


def _leave(message):
    """Print ``error: message`` and exit 2 now. JAX's runtime holds every
    process at exit until all have arrived (a shutdown barrier): one whose
    peer died would wait out the heartbeat timeout there and then abort.
    TensorFlow's collective and coordination threads can likewise hold a
    normal interpreter exit well past the error (seen in CI)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(2)


def _reason(message):
    """The gist of a TensorFlow collective error, on one line."""
    text = " ".join(message.split())
    if "Error reported from" in text:
        text = text[text.index("Error reported from"):]
    cut = text.find(" The tasks have crashed")
    return (text[:cut] if cut > 0 else text)[:240]


def join(options, log):
    """The Job this process is part of (see the module docstring); on JAX it
    also joins the job's distributed runtime, which must happen before any
    other JAX work. ``options``: coordinator, num_processes, process_id,
    worker_timeout (None where not given)."""
    backend = keras.backend.backend()
    options = options or {}
    given = {k: options.get(k) for k in JAX_ENV}
    if backend == "tensorflow":
        if any(v is not None for v in given.values()):
            raise SRError("--coordinator, --num-processes and --process-id are for the JAX backend; TensorFlow "
                          "workers are configured by TF_CONFIG (see the README)")
        return _tf_job()
    if backend != "jax":
        if os.environ.get("TF_CONFIG") or any(v is not None for v in given.values()):
            raise SRError(f"multi-worker training is not supported on the {backend} backend")
        return Job(backend)
    for key, var in JAX_ENV.items():
        if given[key] is None and os.environ.get(var):
            given[key] = os.environ[var].split(",")[0] if key == "coordinator" else os.environ[var]
    given["coordinator"] = given["coordinator"] or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if all(v is None for v in given.values()):
        if os.environ.get("TF_CONFIG"):
            raise SRError("TF_CONFIG is set but the backend is JAX: give --coordinator, --num-processes and "
                          "--process-id (or unset TF_CONFIG)")
        return Job(backend)
    missing = [k for k, v in given.items() if v is None]
    if missing:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in missing)
        raise SRError(f"a JAX multi-worker job needs {flags} too (or ${', $'.join(JAX_ENV[k] for k in missing)})")
    try:
        count, index = int(given["num_processes"]), int(given["process_id"])
    except ValueError:
        raise SRError(f"--num-processes {given['num_processes']} / --process-id {given['process_id']}: "
                      "whole numbers expected") from None
    if not 0 <= index < count:
        raise SRError(f"--process-id {index} must lie in [0, {count}) for --num-processes {count}")
    if count == 1:
        return Job(backend)
    import jax

    address = str(given["coordinator"])
    timeout = int(options.get("worker_timeout") or 100)
    log(f"joining the JAX job at {address} as process {index} of {count}")
    # bind the coordinator where it is reached (JAX's default is every interface of the machine)
    jax.distributed.initialize(address, count, index, heartbeat_timeout_seconds=timeout,
                               coordinator_bind_address=os.environ.get("JAX_COORDINATOR_BIND_ADDRESS", address))
    return Job(backend, index, count)


def _tf_job():
    """The Job TF_CONFIG describes (alone when unset or a single task)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return Job("tensorflow")
    try:
        conf = json.loads(raw)
        cluster, task = conf["cluster"], conf["task"]
        kind, number = task["type"], int(task["index"])
        chiefs, workers = list(cluster.get("chief", [])), list(cluster.get("worker", []))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SRError(f"TF_CONFIG is not a valid cluster description ({exc!r}); see the README") from None
    others = sorted(set(cluster) - {"chief", "worker"})
    if others or kind not in ("chief", "worker"):
        raise SRError(f"TF_CONFIG: only 'chief' and 'worker' tasks train here (found {others or kind})")
    count = len(chiefs) + len(workers)
    index = number if kind == "chief" else number + len(chiefs)  # TensorFlow's own numbering
    if not 0 <= index < count or (kind == "chief" and number != 0):
        raise SRError(f"TF_CONFIG: task {kind} {number} is not in its cluster")
    return Job("tensorflow", index, count, cluster) if count > 1 else Job("tensorflow")
