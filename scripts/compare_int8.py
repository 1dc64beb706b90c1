"""Which int8 engine: one checkpoint quantized three ways, each timed against
output.py's bfloat16 path at 1 MP (alternating calls, medians) and scored
on Set5 with srkit's metric against the float32 path. What chose the int8
path's recipe (docs/performance.md, "int8 and LiteRT").

  python -m scripts.compare_int8 weights/FAST_x2.h5 --data-root ../shared/datasets

- litert-int8: LiteRT, int8 weights, activations quantized at run time (--precision int8 of a
  checkpoint without int8 ranges)
- litert-int8-ranges: LiteRT full-integer at int8 ranges set as network.py --int8-ranges sets them
  (99.99th percentiles over training patches; --precision int8 of a checkpoint with them)
- litert-int8-static: LiteRT full-integer, min/max-calibrated by the converter on training patches,
  litert.KEEP_FLOAT float
- onnx-qdq: ONNX Runtime static QDQ (per-channel, MinMax, the same patches), convolutions only,
  the first and last ones float
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np

from srkit import checkpoints, degradations, exporting, litert, metrics, quantize
from srkit.bench import alternated
from srkit.inference import Upscaler
from srkit.io import list_images, load_image
from srkit.calibration import calibration_patches


def onnx_qdq(model, patches, tmp):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    import onnx

    exporting.export_model(model, tmp / "f.onnx")
    quant_pre_process(str(tmp / "f.onnx"), str(tmp / "p.onnx"), skip_symbolic_shape=True)
    graph = onnx.load(str(tmp / "p.onnx")).graph
    convs = [n.name for n in graph.node if n.op_type == "Conv"]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(patches)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {graph.input[0].name: x}

    quantize_static(str(tmp / "p.onnx"), str(tmp / "q.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_exclude=[convs[0], convs[-1]], op_types_to_quantize=["Conv"])
    return exporting.runner(tmp / "q.onnx")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("--data-root", default="../shared/datasets", help="holds Set5/ (scored) and train/ (calibration)")
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    model, info = checkpoints.load(a.checkpoint, precision="float32")
    scale, up = info.scales[0], info.upsampling
    if up != "post":
        raise SystemExit("post-upsampling checkpoints only (the ONNX graph takes the model's own input)")
    patches = calibration_patches(scale, up, folders=[Path(a.data_root) / "train"])  # training images only
    bf16 = Upscaler(checkpoints.load(a.checkpoint, precision="bfloat16")[0], scale, up)
    with tempfile.TemporaryDirectory() as tmp:
        ranged = quantize.calibrate_checkpoint(a.checkpoint, Path(tmp) / "ranged.h5", [Path(a.data_root) / "train"])
        aware, _ = checkpoints.load(ranged, quantized=True)
        engines = {"litert-int8": litert.runner(litert.convert(model, "int8")),
                   "litert-int8-ranges": litert.runner(litert.convert(aware, "int8")),
                   "litert-int8-static": litert.runner(litert.convert(model, "int8-static", patches, litert.KEEP_FLOAT)),
                   "onnx-qdq": onnx_qdq(model, patches, Path(tmp))}
    lr = np.random.default_rng(0).integers(0, 256, (1000 // scale, 1000 // scale, 3), dtype=np.uint8)
    f32 = Upscaler(model, scale, up)
    images = [degradations.modcrop(load_image(f), scale) for f in list_images(Path(a.data_root) / "Set5")]
    ref = np.mean([metrics.psnr(hr, f32(degradations.bicubic_lr(hr, scale))[0], scale) for hr in images])
    print(f"{Path(a.checkpoint).name}: Set5 float32 {ref:.4f} dB")
    for name, engine in engines.items():
        q = Upscaler(model, scale, up, engine=engine)
        median = alternated({"bf16": bf16, "int8": q}, lr, a.repeats)
        b, i = median["bf16"], median["int8"]
        psnr = np.mean([metrics.psnr(hr, q(degradations.bicubic_lr(hr, scale))[0], scale) for hr in images])
        print(f"{name}: 1 MP bf16 {b:.3f} s, int8 {i:.3f} s, speed-up {b / i:.2f}x; Set5 drop {ref - psnr:.4f} dB")


if __name__ == "__main__":
    main()
