"""Reference implementations that the tests check rmmdetect's output against."""
