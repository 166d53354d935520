"""Library code shared by the plugins (not a plugin): the hooks they call of each other and the
data those exchange (tasks, neutral requests and results), prompts, request lines, result
parsing, prices, the product's schema and the drain of ``run --until-idle``."""
