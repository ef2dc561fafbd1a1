"""The demo province (DESIGN §12): Hainan's 保亭, 琼中 and 五指山 with a generated year of field work.

`geography` is the map (real adcodes and townships, rough boundaries, generated villages),
`generator` turns a seed into the commands users would have sent, and `loader` sends them through
the County command path (`grassroots demo`).
"""
