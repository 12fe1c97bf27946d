"""The zip files the course asked students to hand in (`eecs598.submit`).

`make_aN_submission(assignment_path, uniquename=None, umid=None)` writes
`<assignment_path>/<uniquename>_<umid>_AN.zip` with the files the course listed for AN
(stored flat, under their own names) and raises ValueError naming a missing file. Without
uniquename / umid, it asks for them.
"""
import os
import zipfile

_A1_FILES = ["pytorch101.py", "pytorch101.ipynb", "knn.py", "knn.ipynb"]

_A2_FILES = [
    "linear_classifier.py", "linear_classifier.ipynb", "two_layer_net.py",
    "two_layer_net.ipynb", "svm_best_model.pt", "softmax_best_model.pt", "nn_best_model.pt",
]

_A3_FILES = [
    "fully_connected_networks.py", "fully_connected_networks.ipynb",
    "convolutional_networks.py", "convolutional_networks.ipynb",
    "best_overfit_five_layer_net.pth", "best_two_layer_net.pth",
    "one_minute_deepconvnet.pth", "overfit_deepconvnet.pth",
]

_A4_FILES = [
    "network_visualization.py", "network_visualization.ipynb",
    "style_transfer.py", "style_transfer.ipynb",
    "pytorch_autograd_and_nn.py", "pytorch_autograd_and_nn.ipynb",
    "rnn_lstm_attention_captioning.py", "rnn_lstm_attention_captioning.ipynb",
    # results the notebooks save
    "pytorch_autograd_and_nn.pkl", "rnn_lstm_attention_submission.pkl",
    "saliency_maps_results.jpg", "adversarial_attacks_results.jpg", "class_viz_result.jpg",
    "style_transfer_result.jpg", "feature_inversion_result.jpg",
]

_A5_FILES = [
    "single_stage_detector.py", "two_stage_detector.py",
    "single_stage_detector_yolo.ipynb", "two_stage_detector_faster_rcnn.ipynb",
    "yolo_detector.pt", "frcnn_detector.pt",
]

_A6_FILES = [
    "vae.py", "gan.py", "variational_autoencoders.ipynb", "generative_adversarial_networks.ipynb",
    "vae_generation.jpg", "conditional_vae_generation.jpg", "fc_gan_results.jpg",
    "ls_gan_results.jpg", "dc_gan_results.jpg",
]

FILES = {"A1": _A1_FILES, "A2": _A2_FILES, "A3": _A3_FILES, "A4": _A4_FILES,
         "A5": _A5_FILES, "A6": _A6_FILES}


def make_a1_submission(assignment_path, uniquename=None, umid=None):
    return _make_submission(assignment_path, _A1_FILES, "A1", uniquename, umid)


def make_a2_submission(assignment_path, uniquename=None, umid=None):
    return _make_submission(assignment_path, _A2_FILES, "A2", uniquename, umid)


def make_a3_submission(assignment_path, uniquename=None, umid=None):
    return _make_submission(assignment_path, _A3_FILES, "A3", uniquename, umid)


def make_a4_submission(assignment_path, uniquename=None, umid=None):
    return _make_submission(assignment_path, _A4_FILES, "A4", uniquename, umid)


def make_a5_submission(assignment_path, uniquename=None, umid=None):
    return _make_submission(assignment_path, _A5_FILES, "A5", uniquename, umid)


def make_a6_submission(assignment_path, uniquename=None, umid=None):
    return _make_submission(assignment_path, _A6_FILES, "A6", uniquename, umid)


def _make_submission(assignment_path, file_list, assignment_no, uniquename=None, umid=None):
    """Zip `file_list` (names relative to assignment_path) into the course-named zip.

    Every file is checked before the zip is written, so a missing one leaves no partial zip.
    Returns the zip's path.
    """
    if uniquename is None or umid is None:
        uniquename, umid = _get_user_info(uniquename, umid)
    missing = [f for f in file_list if not os.path.isfile(os.path.join(assignment_path, f))]
    if missing:
        raise ValueError('Could not find file "%s"' % missing[0]
                         + (" (and %d more)" % (len(missing) - 1) if len(missing) > 1 else ""))
    zip_path = os.path.join(assignment_path, "{}_{}_{}.zip".format(uniquename, umid,
                                                                   assignment_no))
    print("Writing zip file to: ", zip_path)
    with zipfile.ZipFile(zip_path, "w") as zf:
        for filename in file_list:
            zf.write(os.path.join(assignment_path, filename), filename)
    return zip_path


def _get_user_info(uniquename=None, umid=None):
    """Ask for whichever of uniquename / umid is not given."""
    if uniquename is None:
        uniquename = input("Enter your uniquename (e.g. justincj): ")
    if umid is None:
        umid = input("Enter your umid (e.g. 12345678): ")
    return uniquename, umid
