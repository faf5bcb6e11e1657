"""Reading your own digits (classify.py, draw.py): an image file, its ink, the digits of a
number, and each digit as the 28x28 image MNIST would make of it.

    image_files       image files in and out, within bounds (Pillow)
    sheet             a sheet lying on a desk -> the sheet alone
    ink               a photo or drawing -> its ink, the paper's light taken out
    number_splitting  a number written in a row -> its digits
    digits            one digit's ink -> its 28x28 image (prepare: the whole pipeline)
    morphology        the NumPy filters underneath
"""
