"""The code the programs share, one module per concern.

Training (what every lesson script's loop calls):
    tf1           TensorFlow's TF1 API, imported once with this project's settings
    flags         the flags every script has, their checks, the data they ask for
    training      Run: the bookkeeping around a training loop (steps, progress, saving)
    evaluation    exact batched evaluation: correct counts, accuracy, predictions
    checkpoints   saving the newest few, finding the last, restoring into the right model
    rundirs       run directories: numbered runs, the lock, config.json, metrics.json
    command_line  one-line errors and exit codes for every program
    distributed   one task of a cluster: ps or worker, TF_CONFIG, placement, sync replicas
    pictures      the pictures a run draws (matplotlib)

Reading your own digits (classify.py, draw.py):
    classifiers       which script trains each model, rebuilt as its run trained it
    export            a trained classifier as a SavedModel, and loading one
    image_files       image files in and out, within bounds (Pillow)
    ink               a photo or drawing -> its ink, the paper's light taken out
    number_splitting  a number written in a row -> its digits
    digits            one digit's ink -> the 28x28 image MNIST would make of it
    morphology        the NumPy filters underneath
    draw.html         draw.py's page
"""
