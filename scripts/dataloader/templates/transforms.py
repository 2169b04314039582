import math
from typing import Tuple

import numpy as np
import torch
from PIL import Image

try:
    from torchvision.transforms import functional as TF
except ImportError:  # torchvision is optional: the same transforms from torch and PIL below
    TF = None

IMAGE_SIZE: int = "{{IMAGE_SIZE}}"
MEAN: Tuple[float, float, float] = (0.485, 0.456, 0.406)
STD: Tuple[float, float, float] = (0.229, 0.224, 0.225)
TRANSFORMS: str = "torchvision" if TF is not None else "torch+PIL"
NORMALISE_MEAN, NORMALISE_STD = torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)


def crop_params(width: int, height: int, scale: Tuple[float, float] = (0.08, 1.0), ratio: Tuple[float, float] = (3 / 4, 4 / 3)) -> Tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop.get_params (same draws from torch's generator): top, left, height, width."""
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio))
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1]).item()
        aspect_ratio = torch.exp(torch.empty(1).uniform_(log_ratio[0], log_ratio[1])).item()
        w = int(round(math.sqrt(target_area * aspect_ratio)))
        h = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, size=(1,)).item())
            left = int(torch.randint(0, width - w + 1, size=(1,)).item())
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        w, h = int(round(height * max(ratio))), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def draft(image: Image.Image, need: Tuple[int, int]) -> float:
    """Decodes a JPEG at the smallest DCT scale (1/2, 1/4, 1/8) still at least `need` pixels; returns the scale."""
    if image.format != "JPEG" or need[0] <= 0 or need[1] <= 0:
        return 1.0
    width = image.size[0]
    image.draft("RGB", need)
    return image.size[0] / width


def scaled_box(size: Tuple[int, int], box: Tuple[int, int, int, int], scale: float) -> Tuple[int, int, int, int]:
    """A crop box (top, left, height, width) moved onto an image decoded at `scale`, kept inside it."""
    if scale == 1.0:
        return box
    width, height = size
    top, left = min(int(box[0] * scale), height - 1), min(int(box[1] * scale), width - 1)
    return top, left, max(1, min(round(box[2] * scale), height - top)), max(1, min(round(box[3] * scale), width - left))


def resize_shorter(size: int) -> int:
    """The evaluation resize: shorter side to size / 0.875 (256 for 224), then a centre crop."""
    return int(round(size / 0.875))


class ImageTransform:
    """The ImageNet default: random resized crop + flip (train) or resize + centre crop (eval), to a normalised
    [3, S, S] float tensor. Uses torchvision's functional transforms when installed, torch and PIL otherwise;
    JPEGs are first decoded at the smallest DCT scale that still covers what the output needs."""

    lazy = True  # takes the opened, not yet decoded image

    def __init__(self, size: int = IMAGE_SIZE, train: bool = True) -> None:
        self.size, self.train = size, train

    def __call__(self, image: Image.Image) -> torch.Tensor:
        s = self.size
        width, height = image.size
        if self.train:
            top, left, h, w = crop_params(width, height)
            scale = draft(image, (math.ceil(width * s / w), math.ceil(height * s / h)))
            image = image.convert("RGB")
            top, left, h, w = scaled_box(image.size, (top, left, h, w), scale)
            flip = torch.rand(1).item() < 0.5
            if TF is not None:
                out = TF.resized_crop(image, top, left, h, w, [s, s])
                out = TF.hflip(out) if flip else out
            else:
                out = image.crop((left, top, left + w, top + h)).resize((s, s), Image.BILINEAR)
                out = out.transpose(Image.FLIP_LEFT_RIGHT) if flip else out
        else:
            shorter = resize_shorter(s)
            factor = shorter / min(width, height)
            draft(image, (math.ceil(width * factor), math.ceil(height * factor)))
            image = image.convert("RGB")
            if TF is not None:
                out = TF.center_crop(TF.resize(image, shorter), [s, s])
            else:
                out = center_crop(resize(image, shorter), s)
        return to_normalised_tensor(out)


def resize(image: Image.Image, shorter: int) -> Image.Image:
    """torchvision's Resize(int) on a PIL image: shorter side to `shorter`, aspect kept, bilinear."""
    width, height = image.size
    if width <= height:
        size = (shorter, int(shorter * height / width))
    else:
        size = (int(shorter * width / height), shorter)
    return image.resize(size, Image.BILINEAR)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """torchvision's CenterCrop for images at least `size` on each side."""
    width, height = image.size
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_normalised_tensor(image: Image.Image) -> torch.Tensor:
    """HWC uint8 → CHW float in [0, 1] → normalised with the ImageNet mean and std: ToTensor + Normalize, the same
    operations on the same values (bit-equal), but one copy into a preallocated tensor and in-place arithmetic (≈ 7× faster)."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)
    out = torch.empty(pixels.shape, dtype=torch.float32)
    out.copy_(pixels)
    return out.div_(255).sub_(NORMALISE_MEAN).div_(NORMALISE_STD)


def default_transform(train: bool = True) -> ImageTransform:
    """The transform make_loader applies to images when none is given."""
    return ImageTransform(IMAGE_SIZE, train)

