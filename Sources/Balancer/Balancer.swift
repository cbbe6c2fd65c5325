public enum BalancerPlaceholder {}
