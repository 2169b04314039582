import os
import shutil
import subprocess

CACHE_DIR: str = "{{CACHE_DIR}}"


def data_root() -> str:
    """Instance-store NVMe (or the root volume) holding the staged copy."""
    return os.environ.get("TRAINCTL_CACHE_DIR", CACHE_DIR)


def prepare() -> None:
    """Stages DATA (s3://…) into the cache once; files already present are skipped."""
    root = data_root()
    marker = os.path.join(root, ".trainctl-staged")
    if os.path.exists(marker):
        return
    os.makedirs(root, exist_ok=True)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if shutil.which("s5cmd"):
        command = ["s5cmd"] + (["--endpoint-url", endpoint] if endpoint else []) + ["sync", DATA.rstrip("/") + "/*", root + "/"]
    else:
        command = ["aws", "s3", "sync", "--only-show-errors", DATA, root] + (["--endpoint-url", endpoint] if endpoint else [])
    subprocess.run(command, check=True)
    with open(marker, "w") as handle:
        handle.write(DATA)
