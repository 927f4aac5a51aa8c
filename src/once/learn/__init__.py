"""The learning loop: signals -> stuck episodes -> knowledge entries -> injection with a holdout -> evaluation."""
