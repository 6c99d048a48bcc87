"""Motion file formats, one module per format: :mod:`.bvh` (read any BVH skeleton, write the SMPL skeleton) and
:mod:`.amass` (SMPL ``.npz``, mrgen's and AMASS's). They only parse and write; reading any motion file as SMPL motion
(a BVH through retargeting) is :mod:`mrgen_core.motion_files`."""
