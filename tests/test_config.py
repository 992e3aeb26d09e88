import pytest

from hdl.config import PRESETS, AcceleratorConfig, ConfigError, SparsityConfig, num_blocks, preset


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


def test_num_blocks():
    """nb = ceil(L / B), the last block partial; the method checks L against the config."""
    assert [num_blocks(L, 16) for L in (1, 15, 16, 17, 32, 33)] == [1, 1, 1, 2, 2, 3]
    assert num_blocks(131072, 64) == 2048
    cfg = preset("ci")
    assert all(cfg.num_blocks(L) == num_blocks(L, cfg.block) for L in (1, 100, cfg.max_seq_len))


def test_cli_config_runs(capsys):
    from fast_prefill.cli import main
    assert main(["config", "--preset", "ci", "--json"]) == 0
    assert '"block": 16' in capsys.readouterr().out


def test_head_lanes_and_passes():
    """head_lanes: 0 means one lane per head of a group; passes cover a group's heads exactly
    once, in order; the units of the top are built for the lanes; bad values name the field."""
    ci = preset("ci")
    assert ci.lanes == ci.max_group and ci.head_passes(3) == [(0, 3)] and ci.unit_config() is ci
    two = preset("ci", head_lanes=2)
    assert two.head_passes(3) == [(0, 2), (2, 1)] and two.head_passes(1) == [(0, 1)]
    assert two.unit_config().max_group == 2 and two.unit_config().lanes == 2
    u = preset("u280")
    assert u.lanes == 1 and [n for _, n in u.head_passes(7)] == [1] * 7
    for g in range(1, 8):
        heads = [h for first, n in u.replace(head_lanes=3).head_passes(g) for h in range(first, first + n)]
        assert heads == list(range(g))
    with pytest.raises(ConfigError, match="head_lanes"):
        preset("ci", head_lanes=4)
    with pytest.raises(ConfigError, match="head_lanes"):
        preset("ci", head_lanes=-1)
    with pytest.raises(ConfigError, match="max_group"):
        two.head_passes(4)
