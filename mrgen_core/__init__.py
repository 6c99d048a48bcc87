"""mrgen core: SMPL motion I/O, retargeting, the multi-resolution GAN, sampling, blending and metrics.

Importing this package never imports torch: the numpy-only parts (skeleton, rotations, Motion, file I/O,
retargeting, metrics) work inside Blender; torch is imported lazily by the model, training and sampling modules.
"""
from .errors import MrgenError, MotionFormatError, RetargetError, ModelFileError
from .motion import Motion
from .skeleton import JOINT_NAMES, PARENTS, Skeleton

__version__ = "0.1.0"
__all__ = ["Motion", "Skeleton", "JOINT_NAMES", "PARENTS", "MrgenError", "MotionFormatError", "RetargetError",
           "ModelFileError", "__version__"]
