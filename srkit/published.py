"""Published Set5/Set14 numbers (PSNR/SSIM, Y channel) of reference methods,
shown as clearly labelled rows next to ours. SRCNN and VDSR as tabulated in
Kim et al., "Accurate Image Super-Resolution Using Very Deep Convolutional
Networks" (CVPR 2016); EDSR-baseline from Lim et al., "Enhanced Deep Residual
Networks for Single Image Super-Resolution" (CVPRW 2017), as tabulated in
later lightweight-SR comparisons. Only values checked against more than one
public table are listed (EDSR-baseline x3 is missing for that reason)."""

PUBLISHED = {
    "SRCNN": {("Set5", 2): (36.66, 0.9542), ("Set5", 3): (32.75, 0.9090), ("Set5", 4): (30.48, 0.8628),
              ("Set14", 2): (32.42, 0.9063), ("Set14", 3): (29.28, 0.8209), ("Set14", 4): (27.49, 0.7503)},
    "VDSR": {("Set5", 2): (37.53, 0.9587), ("Set5", 3): (33.66, 0.9213), ("Set5", 4): (31.35, 0.8838),
             ("Set14", 2): (33.03, 0.9124), ("Set14", 3): (29.77, 0.8314), ("Set14", 4): (28.01, 0.7674)},
    "EDSR-baseline": {("Set5", 2): (37.99, 0.9604), ("Set5", 4): (32.09, 0.8938),
                      ("Set14", 2): (33.57, 0.9175), ("Set14", 4): (28.58, 0.7813)},
}


def rows(columns):
    """Pivot-table rows '| NAME (published) | ... |' for the (dataset, scale) columns."""
    out = []
    for name, table in PUBLISHED.items():
        cells = [f"{table[c][0]:.2f} / {table[c][1]:.4f}" if c in table else "-" for c in columns]
        if any(cell != "-" for cell in cells):
            out.append(f"| {name} (published) | " + " | ".join(cells) + " |")
    return out
