from worldflux import hookimpl

REFS = {"config_class": "worldflux_toy.model:ToyConfig", "builder": "worldflux_toy.model:ToyModel",
        "agent": "worldflux_toy.agent:ToyAgent"}


@hookimpl
def worldflux_register_families(registry):
    registry.add_family("toy", description="A linear-tanh latent model for tests.")
    registry.add_preset("toy:tiny", family="toy", description="8-dim latent", obs_shape=(4,), action_dim=2,
                        config={"latent_dim": 8}, param_count=157, reference_spec={"obs_shape": (4,), "action_dim": 2},
                        aliases=("toy", "Toy-Tiny"), **REFS)
    registry.add_preset("toy:wide", family="toy", description="64-dim latent", obs_shape=(4,), action_dim=2,
                        config={"latent_dim": 64}, param_count=4805, reference_spec={"obs_shape": (4,), "action_dim": 2},
                        surface="public", maturity="experimental", **REFS)
    registry.add_preset("toy:draft", family="toy", description="unfinished", obs_shape=(4,), action_dim=2,
                        param_count=157, surface="all", maturity="skeleton", parity_role="ci-only",
                        **{k: v for k, v in REFS.items() if k != "agent"})  # no agent: not trainable
