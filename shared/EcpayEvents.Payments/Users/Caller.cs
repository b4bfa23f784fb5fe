namespace EcpayEvents.Payments.Users;

/// <summary>
/// Who is asking, as the identity provider vouched for it: the user pool's <c>sub</c>, and whether they are
/// in the <c>operators</c> group. A user reaches only the user row bound to their sub (and its
/// transactions); another user's resource looks exactly like a missing one. Operators read every user and
/// transaction but move no money, not even on a user row of their own (an operator account is staff, not a customer).
/// </summary>
public sealed record Caller(string Sub, bool IsOperator);
