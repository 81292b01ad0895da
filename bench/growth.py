"""placeholder while writing"""
def run(settings, workdir):
    return []
