"""PSNR/SSIM tables on Set5, Set14 or any folder of HR images, under the papers'
protocol (MATLAB-bicubic LR, Y channel, `scale` pixels shaved).

  python evaluate.py --datasets Set5 Set14 --scales 2 3 4 --models bicubic \\
      --data-root ../shared/datasets --json out.json
"""

import sys

from .. import evaluation
from ..cliargs import SCALE, Parser


def main(argv=None):
    p = Parser(__doc__)
    p.add_argument("--datasets", nargs="+", default=["Set5", "Set14"],
                   help="folder names under the data root, or paths to folders of HR images")
    p.add_argument("--scales", nargs="+", type=SCALE, default=[2, 3, 4])
    p.add_argument("--models", nargs="+", default=None,
                   help="nearest, bicubic, or checkpoints in --weights-dir by file stem or "
                        "architecture (default: nearest, bicubic and every checkpoint there)")
    p.add_argument("--weights", nargs="+", default=None, help="checkpoint files (.h5) to evaluate")
    p.add_argument("--weights-dir", default=None, help="where --models looks (default: the shipped weights)")
    p.add_argument("--data-root", default=None,
                   help="folder holding the datasets (default: $SR_DATA_ROOT, else evaluation/)")
    p.add_argument("--json", dest="json_path", help="write the results as JSON here")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="write a PSNR/SSIM plot here (the README's: md_images/plot_psnr_ssim.png); none by "
                        "default, so scoring a checkpoint never replaces the README's plot")
    p.add_argument("--no-plot", action="store_true", help="no plot even with --plot")
    p.add_argument("--combined-dir", default=str(evaluation.ROOT / "evaluation" / "Combined"),
                   help="where labelled HR | nearest | bicubic | model comparisons go")
    p.add_argument("--no-combined", action="store_true")
    p.add_argument("--readme", help="replace the results table between markers in this README")
    p.add_argument("--readme-section", default="results", help="with --readme: the section, marked by "
                   "<!-- NAME:start --> and <!-- NAME:end -->")
    p.add_argument("--published", action="store_true",
                   help="add the published SRCNN, VDSR and EDSR-baseline rows (labelled) to the table")
    p.add_argument("--precision", nargs="+", default=["float32"], choices=["float32", "bfloat16", "int8"],
                   help="inference precision(s) of the checkpoints; several: one row each (bfloat16 as NAME@bf16, int8 as NAME@int8)")
    p.add_argument("--ensemble", action="store_true", help="also score each checkpoint with the x8 "
                   "flip/rotate self-ensemble of output.py --ensemble, as NAME+ (8x slower)")
    p.add_argument("--showcase", metavar="DIR", help="write zoomed HR | bicubic | model crops of the "
                   "--showcase-images at the --showcase-scales here (the README's md_images/)")
    p.add_argument("--showcase-images", nargs="+", default=["butterfly", "comic", "zebra"])
    p.add_argument("--showcase-scales", nargs="+", type=SCALE, default=[2, 4])
    p.add_argument("--degrade", nargs="+", default=["clean"], choices=list(evaluation.benchdeg.DEGRADES),
                   help="score on LR inputs degraded by these fixed, seeded recipes (srkit/benchdeg.py): one "
                        "PSNR / SSIM column each; clean is the standard protocol")
    a = p.parse_args(argv)
    failures = []
    evaluation.run(a.datasets, a.scales, models=a.models, weights=a.weights, weights_dir=a.weights_dir,
                   data_root=a.data_root, json_path=a.json_path, plot_path=None if a.no_plot else a.plot,
                   combined_dir=None if a.no_combined else a.combined_dir, readme=a.readme, published=a.published,
                   precisions=a.precision, ensemble=a.ensemble, readme_tag=a.readme_section, degrades=a.degrade,
                   showcase=(a.showcase, a.showcase_images, a.showcase_scales) if a.showcase else None,
                   failures=failures)
    if failures:
        print(f"{len(failures)} image(s) could not be read and were left out (see above)", file=sys.stderr)
    return 1 if failures else 0
