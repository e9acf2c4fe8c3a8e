raise AssertionError("discovery must not import private modules")
