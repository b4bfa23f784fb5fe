using System.Text.Json;
using System.Text.Json.Serialization;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Transactions;
using EcpayEvents.Payments.Users;
using EcpayEvents.Payments.Withdrawals;

namespace EcpayEvents.PaymentsApi;

/// <summary>201 answer of POST /users/{id}/deposits.</summary>
public sealed record DepositResponse(
    [property: JsonPropertyName("transactionId")] long TransactionId,
    [property: JsonPropertyName("merchantTradeNo")] string MerchantTradeNo,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("paymentMethod")] string PaymentMethod,
    [property: JsonPropertyName("expiresAt")] DateTimeOffset ExpiresAt,
    [property: JsonPropertyName("checkoutUrl")] string CheckoutUrl);

/// <summary>GET /auth/config: how the web page reaches the user pool (public values).</summary>
public sealed record AuthConfigResponse(
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("clientId")] string ClientId,
    [property: JsonPropertyName("localConfirm")] bool LocalConfirm,
    [property: JsonPropertyName("userPoolId"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? UserPoolId);

public sealed record FormField(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value);

/// <summary>GET /checkout/{id} with Accept: application/json — the form for scripts to post themselves.</summary>
public sealed record CheckoutFormResponse(
    [property: JsonPropertyName("transactionId")] long TransactionId,
    [property: JsonPropertyName("merchantTradeNo")] string MerchantTradeNo,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("fields")] IReadOnlyList<FormField> Fields);

// Strict numbers: "100" (a string) is not an amount.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(CreatedUser))]
[JsonSerializable(typeof(UserView))]
[JsonSerializable(typeof(TransactionView))]
[JsonSerializable(typeof(TransactionPage))]
[JsonSerializable(typeof(DepositRequest))]
[JsonSerializable(typeof(DepositResponse))]
[JsonSerializable(typeof(WithdrawalRequest))]
[JsonSerializable(typeof(WithdrawalCompleted))]
[JsonSerializable(typeof(CheckoutFormResponse))]
[JsonSerializable(typeof(AuthConfigResponse))]
[JsonSerializable(typeof(UserPage))]
public sealed partial class PaymentsApiJsonContext : JsonSerializerContext;
