"""The eight named styles: their paintings, credits and the teacher knobs chosen for each.

Knobs were chosen by looking at the teacher's output side by side at full size on photos
with faces (OpenCV's messi5, scikit-image's astronaut) and a frame of the sample clip, among
the settings whose baked quality model keeps at least 80 % of the quality report's faces and
more edge structure than the old zoo (benchmarks/teacher_knobs.py --score; docs/teacher.md has
the table and the reasons).
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
             "public domain painting", Knobs(384, 0.8)),
    ZooStyle("the_scream", "The Scream", "the_scream.jpg", "Edvard Munch, 1893",
             "public domain painting", Knobs(768, 0.8)),
    ZooStyle("composition_vii", "Composition VII", "composition_vii.jpg", "Wassily Kandinsky, 1913",
             "public domain painting", Knobs(256, 1.0)),
    ZooStyle("wave", "The Great Wave", "wave.jpg", "Katsushika Hokusai, c. 1831",
             "public domain print", Knobs(320, 1.0)),
    ZooStyle("udnie", "Udnie", "udnie.jpg", "Francis Picabia, 1913",
             "public domain painting", Knobs(512, 0.7)),
    ZooStyle("mosaic", "Mosaic", "mosaic.jpg", "photo of an ancient mosaic",
             "origin unrecorded", Knobs(256, 0.6)),
    ZooStyle("candy", "Candy", "candy.jpg", "abstract artwork long used in style-transfer demos",
             "origin unrecorded", Knobs(256, 0.6)),
    ZooStyle("feathers", "Feathers", "feathers.jpg", "abstract artwork long used in style-transfer demos",
             "origin unrecorded", Knobs(256, 0.7)),
]
BY_NAME = {s.name: s for s in ZOO}
