from tests.registries.plugins_demo import THINGS


@THINGS.register("alpha", order=1)
class Alpha:
    pass
