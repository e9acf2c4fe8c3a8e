from tests.registries.plugins_demo import THINGS


@THINGS.register("beta", order=2)
class Beta:
    pass
