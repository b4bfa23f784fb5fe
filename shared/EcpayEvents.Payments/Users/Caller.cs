namespace EcpayEvents.Payments.Users;

/// <summary>
/// Who is asking, as the identity provider vouched for it: the token's <c>sub</c> and membership of <c>operators</c>.
/// A user reaches only their own rows; operators read everything but move no money (staff, not customers).
/// </summary>
public sealed record Caller(string Sub, bool IsOperator);
