import pytest

from hdl.config import PRESETS, AcceleratorConfig, ConfigError, SparsityConfig, preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid(name):
    cfg = preset(name)
    assert cfg.mpu_rows == cfg.block
    assert cfg.max_blocks * cfg.block == cfg.max_seq_len


@pytest.mark.parametrize("changes, field", [
    ({"block": 48}, "block"),
    ({"head_dim": 0}, "head_dim"),
    ({"mpu_rows": 8}, "mpu_rows"),
    ({"lut_rows": 99}, "lut_rows"),
    ({"max_seq_len": 100}, "max_seq_len"),
    ({"axi_data_bits": 100}, "axi_data_bits"),
    ({"data_bits": 4}, "data_bits"),
])
def test_invalid_config_names_the_field(changes, field):
    with pytest.raises(ConfigError, match=rf"^{field}:"):
        preset("ci", **changes)


@pytest.mark.parametrize("changes, field", [
    ({"gamma": 0.0}, "gamma"), ({"gamma": 1.5}, "gamma"), ({"mode": "x"}, "mode"),
    ({"min_budget": 0}, "min_budget"), ({"min_budget": 4, "max_budget": 2}, "max_budget"),
    ({"local_window": 0}, "local_window"), ({"row_gamma": -0.1}, "row_gamma"),
])
def test_invalid_sparsity_names_the_field(changes, field):
    with pytest.raises(ConfigError, match=rf"^{field}:"):
        SparsityConfig(**changes)


def test_seq_len_and_heads_checks():
    cfg = preset("ci")
    assert cfg.num_blocks(17) == 2
    for bad in (0, -1, cfg.max_seq_len + 1):
        with pytest.raises(ConfigError, match="seq_len"):
            cfg.num_blocks(bad)
    assert cfg.check_heads(9, 3) == 3
    with pytest.raises(ConfigError, match="not a multiple"):
        cfg.check_heads(9, 2)
    with pytest.raises(ConfigError, match="max_group"):
        AcceleratorConfig(max_group=2).check_heads(9, 3)


def test_cli_config_runs(capsys):
    from fast_prefill.cli import main
    assert main(["config", "--preset", "ci", "--json"]) == 0
    assert '"block": 16' in capsys.readouterr().out
