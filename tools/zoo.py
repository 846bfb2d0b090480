"""The eight named styles: their paintings, credits and the teacher knobs chosen for each.

Knobs were chosen by looking at the teacher's output side by side at full size on photos
with faces (OpenCV's messi5, scikit-image's astronaut) and a frame of vtest.avi, for
style_size 192/256/384/512 and style_weight 1/0.8/0.6 (docs/teacher.md). The styles whose
painting is a dense pattern (mosaic, candy, feathers) ate the footballer at weight 1; 0.8
gives him back and keeps the pattern. The Great Wave reads its indigo best at 384.
"""
from __future__ import annotations

from dataclasses import dataclass

from rtstyle.teacher import Knobs


@dataclass(frozen=True)
class ZooStyle:
    name: str
    title: str
    picture: str
    credit: str
    status: str
    knobs: Knobs


ZOO = [
    ZooStyle("starry_night", "The Starry Night", "starry_night.jpg", "Vincent van Gogh, 1889",
             "public domain painting", Knobs(256, 1.0)),
    ZooStyle("the_scream", "The Scream", "the_scream.jpg", "Edvard Munch, 1893",
             "public domain painting", Knobs(256, 1.0)),
    ZooStyle("composition_vii", "Composition VII", "composition_vii.jpg", "Wassily Kandinsky, 1913",
             "public domain painting", Knobs(256, 1.0)),
    ZooStyle("wave", "The Great Wave", "wave.jpg", "Katsushika Hokusai, c. 1831",
             "public domain print", Knobs(384, 1.0)),
    ZooStyle("udnie", "Udnie", "udnie.jpg", "Francis Picabia, 1913",
             "public domain painting", Knobs(256, 1.0)),
    ZooStyle("mosaic", "Mosaic", "mosaic.jpg", "photo of an ancient mosaic",
             "origin unrecorded", Knobs(256, 0.8)),
    ZooStyle("candy", "Candy", "candy.jpg", "abstract artwork long used in style-transfer demos",
             "origin unrecorded", Knobs(256, 0.8)),
    ZooStyle("feathers", "Feathers", "feathers.jpg", "abstract artwork long used in style-transfer demos",
             "origin unrecorded", Knobs(256, 0.8)),
]
BY_NAME = {s.name: s for s in ZOO}
