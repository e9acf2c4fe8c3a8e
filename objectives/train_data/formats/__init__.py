"""The training-file formats, one public module each; every module registers its format in
``TRAIN_FORMATS`` (``objectives.train_data._registry``), which imports them all on first use.

A new format is one module here (a ``TrainFormat`` subclass passed to ``register_format``, with
an ``order`` that places it among the detection order) plus its test, touching no other file.
"""
