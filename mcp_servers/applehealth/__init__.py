"""Apple Health: samples the owner's phone pushes, kept encrypted under the ``health`` domain."""
