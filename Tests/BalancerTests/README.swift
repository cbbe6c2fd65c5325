// The BalancerTests target's tests live beside this file.
