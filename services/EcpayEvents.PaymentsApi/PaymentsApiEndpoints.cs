using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EcpayEvents.Ecpay;
using EcpayEvents.Hosting;
using EcpayEvents.Payments;
using EcpayEvents.Payments.Deposits;
using EcpayEvents.Payments.Transactions;
using EcpayEvents.Payments.Users;
using EcpayEvents.Payments.Withdrawals;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;
using CheckoutAnswer = Microsoft.AspNetCore.Http.HttpResults.Results<
    Microsoft.AspNetCore.Http.HttpResults.Ok<EcpayEvents.PaymentsApi.CheckoutFormResponse>,
    Microsoft.AspNetCore.Http.HttpResults.ContentHttpResult,
    Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult,
    Microsoft.AspNetCore.Http.HttpResults.ValidationProblem>;

namespace EcpayEvents.PaymentsApi;

/// <summary>Every route of the Payments API. Errors are RFC 7807 problem details naming the field.</summary>
public static class PaymentsApiEndpoints
{
    public static IEndpointRouteBuilder MapPaymentsApi(this IEndpointRouteBuilder app)
    {
        // Open: the page shell and its sign-in settings (no user data in either), the checkout form
        // (its proof is the signed link), ECPay's OrderResultURL post (its proof is the CheckMacValue).
        app.MapGet("/", WebPage).AllowAnonymous();
        app.MapGet("/session.js", SessionScript).AllowAnonymous();
        app.MapGet("/auth/config", AuthConfig).AllowAnonymous();
        app.MapGet("/checkout/{id}", Checkout).AllowAnonymous();
        app.MapPost("/ecpay/order-result", OrderResult).AllowAnonymous().WithMetadata(BodyLimit.EcpayForm);

        // Everything else needs a signed-in user (the fallback policy); ownership is the use cases' rule.
        app.MapPost("/users", CreateUser).WithMetadata(BodyLimit.Json);
        app.MapGet("/users", ListUsers);
        app.MapGet("/me", Me);
        app.MapGet("/users/{id}", GetUser);
        app.MapGet("/users/{id}/transactions", ListTransactions);
        app.MapPost("/users/{id}/deposits", RequestDeposit).WithMetadata(BodyLimit.Json);
        app.MapPost("/users/{id}/withdrawals", Withdraw).WithMetadata(BodyLimit.Json);

        app.MapGet("/transactions/{id}", GetTransaction);
        return app;
    }

    public static ContentHttpResult WebPage() => TypedResults.Content(Pages.Index, "text/html; charset=utf-8");

    /// <summary>The pages' sign-in script (no user data; cacheable like any static file).</summary>
    public static ContentHttpResult SessionScript() => TypedResults.Content(Pages.SessionScript, "text/javascript; charset=utf-8");

    /// <summary>What the web page needs to sign users in through Cognito's API (public values only).</summary>
    public static Ok<AuthConfigResponse> AuthConfig(PaymentsApiSettings settings)
    {
        var cognito = settings.PaymentsApi.Cognito;
        return TypedResults.Ok(new AuthConfigResponse(
            cognito.EffectiveEndpoint, cognito.ClientId, cognito.LocalConfirm, cognito.LocalConfirm ? cognito.UserPoolId : null));
    }

    /// <summary>Creates the caller's own user; a second call returns the same user (200 instead of 201).</summary>
    public static async Task<Results<Created<CreatedUser>, Ok<CreatedUser>, ValidationProblem>> CreateUser(
        CreateUserRequest body, CreateUser createUser, ClaimsPrincipal principal, CancellationToken ct)
    {
        var errors = Payments.Users.CreateUser.Validate(body);
        if (errors.Count > 0) return Invalid(errors);
        var (user, created) = await createUser.HandleAsync(principal.Caller(), body, ct);
        return created ? TypedResults.Created($"/users/{user.Id}", user) : TypedResults.Ok(user);
    }

    /// <summary>The caller's own user, or 404 until they created it with POST /users.</summary>
    public static async Task<Results<Ok<UserView>, ProblemHttpResult>> Me(GetUser getUser, ClaimsPrincipal principal, CancellationToken ct) =>
        await getUser.MeAsync(principal.Caller(), ct) is { } user
            ? TypedResults.Ok(user)
            : NotFoundProblem("You have no user yet: create it with POST /users.");

    /// <summary>Operators only: every user, newest first, paginated like transactions.</summary>
    public static async Task<Results<Ok<UserPage>, ProblemHttpResult, ValidationProblem>> ListUsers(
        string? limit, string? cursor, ListUsers list, ClaimsPrincipal principal, CancellationToken ct)
    {
        var errors = ListUserTransactions.TryParse(limit, cursor, out var take, out var beforeId);
        if (errors.Count > 0) return Invalid(errors);
        return await list.HandleAsync(principal.Caller(), take, beforeId, ct) is { } page ? TypedResults.Ok(page) : OperatorsOnly();
    }

    public static async Task<Results<Ok<UserView>, ProblemHttpResult, ValidationProblem>> GetUser(string id, GetUser getUser, ClaimsPrincipal principal, CancellationToken ct)
    {
        if (!TryParseId(id, out var userId)) return InvalidId("id");
        return await getUser.HandleAsync(principal.Caller(), userId, ct) is { } user ? TypedResults.Ok(user) : UserNotFound(userId);
    }

    public static async Task<Results<Ok<TransactionPage>, ProblemHttpResult, ValidationProblem>> ListTransactions(
        string id, string? limit, string? cursor, ListUserTransactions list, ClaimsPrincipal principal, CancellationToken ct)
    {
        if (!TryParseId(id, out var userId)) return InvalidId("id");
        var errors = ListUserTransactions.TryParse(limit, cursor, out var take, out var beforeId);
        if (errors.Count > 0) return Invalid(errors);
        return await list.HandleAsync(principal.Caller(), userId, take, beforeId, ct) is { } page ? TypedResults.Ok(page) : UserNotFound(userId);
    }

    /// <summary>
    /// An optional <c>Idempotency-Key</c> header makes a retry after a lost answer safe: the same key and body
    /// answer 200 with the first deposit (no second ECPay order); the same key with another body is 422.
    /// </summary>
    public static async Task<Results<Created<DepositResponse>, Ok<DepositResponse>, ValidationProblem, ProblemHttpResult>> RequestDeposit(
        string id, DepositRequest body, RequestDeposit requestDeposit, SignedLinks links, ClaimsPrincipal principal, HttpRequest request, HttpResponse response, CancellationToken ct)
    {
        if (!TryParseId(id, out var userId)) return InvalidId("id");
        var key = request.Headers.TryGetValue(IdempotencyKey.Header, out var values) ? values.ToString() : null;
        var errors = requestDeposit.Validate(body, out var method, key);
        if (errors.Count > 0) return Invalid(errors);
        var (outcome, deposit) = await requestDeposit.HandleAsync(principal.Caller(), userId, body, method, ct, key);
        switch (outcome)
        {
            case DepositOutcome.UserNotFound:
                return UserNotFound(userId);
            case DepositOutcome.KeyInProgress:
                response.Headers.RetryAfter = "2";
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status409Conflict,
                    title: "A request with this Idempotency-Key is in progress.",
                    detail: "Retry shortly with the same key: it will answer with that deposit.");
            case DepositOutcome.KeyReused:
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status422UnprocessableEntity,
                    title: "Idempotency-Key already used.",
                    detail: "This Idempotency-Key was used for a different request; use a new key for a new deposit.");
            case DepositOutcome.Forbidden:
                return OperatorsMoveNoMoney();
            case DepositOutcome.SchedulingFailed:
                response.Headers.RetryAfter = "5";
                return TypedResults.Problem(
                    title: "The deposit could not be started.",
                    detail: "Its payment timeout could not be scheduled, so nothing was created. Try again shortly.",
                    statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        var d = deposit!;
        // The browser opens it without a bearer header: a signed link, valid for 15 minutes.
        var checkoutUrl = links.Create(SignedLinks.CheckoutPurpose, $"/checkout/{d.TransactionId}");
        var created = new DepositResponse(d.TransactionId, d.MerchantTradeNo, d.Status, d.Amount, d.PaymentMethod, d.ExpiresAt, checkoutUrl);
        return outcome == DepositOutcome.Replayed ? TypedResults.Ok(created) : TypedResults.Created($"/transactions/{d.TransactionId}", created);
    }

    /// <summary>
    /// An optional <c>Idempotency-Key</c> header makes retries safe: the same key and amount replays the
    /// first withdrawal (200, same transaction); the same key with another amount is 422.
    /// </summary>
    public static async Task<Results<Created<WithdrawalCompleted>, Ok<WithdrawalCompleted>, ValidationProblem, ProblemHttpResult>> Withdraw(
        string id, WithdrawalRequest body, Withdraw withdraw, ClaimsPrincipal principal, HttpRequest request, CancellationToken ct)
    {
        if (!TryParseId(id, out var userId)) return InvalidId("id");
        var key = request.Headers.TryGetValue("Idempotency-Key", out var values) ? values.ToString() : null;
        var errors = withdraw.Validate(body, key);
        if (errors.Count > 0) return Invalid(errors);
        var (outcome, withdrawal, balance) = await withdraw.HandleAsync(principal.Caller(), userId, body, ct, key);
        return outcome switch
        {
            WithdrawalOutcome.UserNotFound => UserNotFound(userId),
            WithdrawalOutcome.Forbidden => OperatorsMoveNoMoney(),
            WithdrawalOutcome.InsufficientBalance => TypedResults.Problem(
                statusCode: StatusCodes.Status409Conflict,
                title: "Insufficient balance.",
                detail: $"The balance is {balance} TWD; {body.Amount} TWD cannot be withdrawn.",
                extensions: new Dictionary<string, object?> { ["balance"] = balance }),
            WithdrawalOutcome.KeyReused => TypedResults.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "Idempotency-Key already used.",
                detail: "This Idempotency-Key was used for a different withdrawal; use a new key for a new request."),
            WithdrawalOutcome.Replayed => TypedResults.Ok(withdrawal),
            _ => TypedResults.Created($"/transactions/{withdrawal!.TransactionId}", withdrawal),
        };
    }

    /// <summary>
    /// For polling: never cached (Cache-Control: no-store), but with an ETag — a hash of the body, so
    /// it changes exactly when anything the client sees changes — and If-None-Match → 304.
    /// </summary>
    public static async Task<Results<Ok<TransactionView>, StatusCodeHttpResult, ProblemHttpResult, ValidationProblem>> GetTransaction(
        string id, GetTransaction getTransaction, ClaimsPrincipal principal, HttpContext context, CancellationToken ct)
    {
        // Every answer, 404 included: a transaction that does not exist yet must not be cached as missing.
        context.Response.Headers.CacheControl = "no-store";
        if (!TryParseId(id, out var transactionId)) return InvalidId("id");
        var transaction = await getTransaction.ByIdAsync(principal.Caller(), transactionId, ct);
        if (transaction is null) return NotFoundProblem($"Transaction {transactionId} does not exist.");
        var etag = ETagOf(transaction);
        context.Response.Headers.ETag = etag;
        TransactionPolling.SetHeaders(context.Response, transaction);
        if (IfNoneMatch(context.Request, etag)) return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Ok(transaction);
    }

    /// <summary>
    /// The checkoutUrl: a page whose form posts itself to ECPay (or, with Accept: application/json, the
    /// fields for a script to post). Only for a pending deposit that has not expired, and — because
    /// ECPay accepts a MerchantTradeNo once — only once, page or JSON: a second request gets a page saying
    /// when it was sent to ECPay, with the deposit's current status (JSON: 409 with checkoutStartedAt).
    /// </summary>
    /// <returns>The page or the form's fields (JSON); a problem (JSON) or an error page (HTML) otherwise.</returns>
    public static async Task<CheckoutAnswer> Checkout(string id, string? expires, string? sig, StartCheckout startCheckout, SignedLinks links, PaymentsApiSettings settings, HttpContext context, CancellationToken ct)
    {
        var wantsJson = WantsJson(context.Request);
        context.Response.Headers.CacheControl = "no-store";
        if (!TryParseId(id, out var transactionId)) return wantsJson ? (CheckoutAnswer)InvalidId("id") : Pages.Error(400, "Not a checkout link", "The transaction id must be a positive whole number.");
        // The link's signature is the only proof (no token on a navigation): checked before anything is read.
        if (!links.IsValid(SignedLinks.CheckoutPurpose, $"/checkout/{id}", expires, sig))
            return wantsJson
                ? (CheckoutAnswer)TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "This checkout link is not valid.",
                    detail: "It is not a link this service signed, or its 15 minutes are over. Use the checkoutUrl of a new deposit.")
                : Pages.Error(403, "This checkout link is not valid", "It has expired (links last 15 minutes) or was not made by this service. Start a new deposit.");
        var checkout = new CheckoutSettings(
            settings.Ecpay.Credentials(), settings.Ecpay.Endpoints(), settings.Ecpay.ReturnUrl,
            string.IsNullOrEmpty(settings.Ecpay.PaymentInfoUrl) ? null : settings.Ecpay.PaymentInfoUrl,
            settings.OrderResultUrl, settings.PublicUrl("/"));
        var (outcome, deposit, form, startedAt) = await startCheckout.HandleAsync(transactionId, checkout, ct);
        return outcome switch
        {
            CheckoutOutcome.NotFound => wantsJson
                ? (CheckoutAnswer)NotFoundProblem($"Deposit {transactionId} does not exist.")
                : Pages.Error(404, "No such deposit", $"Deposit {transactionId} does not exist."),
            CheckoutOutcome.AlreadyStarted => wantsJson
                ? (CheckoutAnswer)TypedResults.Problem(statusCode: 409, title: "This payment was already sent to ECPay.",
                    detail: $"Deposit {transactionId} was sent to ECPay at {startedAt:u} and is {deposit!.Status}; ECPay accepts an order only once. If it was not paid, start a new deposit.",
                    extensions: new Dictionary<string, object?> { ["checkoutStartedAt"] = startedAt?.ToString("O", CultureInfo.InvariantCulture), ["transactionStatus"] = deposit.Status })
                : TypedResults.Content(Pages.CheckoutAlreadyStarted(deposit!, startedAt!.Value), "text/html; charset=utf-8", null, 409),
            CheckoutOutcome.NotPending => wantsJson
                ? (CheckoutAnswer)TypedResults.Problem(statusCode: 409, title: "The deposit is not pending.", detail: $"Deposit {transactionId} is {deposit!.Status}; it cannot be paid again.")
                : Pages.Error(409, "This deposit cannot be paid", $"Deposit {transactionId} is {deposit!.Status}."),
            CheckoutOutcome.Expired => wantsJson
                ? (CheckoutAnswer)TypedResults.Problem(statusCode: 410, title: "The deposit has expired.", detail: $"Deposit {transactionId} expired at {deposit!.ExpiresAt:u}; start a new one.")
                : Pages.Error(410, "This deposit has expired", "Start a new deposit."),
            _ => wantsJson
                ? (CheckoutAnswer)TypedResults.Ok(new CheckoutFormResponse(deposit!.Id, form!.MerchantTradeNo, form.ActionUrl.AbsoluteUri, form.Fields.Select(f => new FormField(f.Key, f.Value)).ToList()))
                : TypedResults.Content(form!.ToHtml(), "text/html; charset=utf-8"),
        };
    }

    /// <summary>
    /// ECPay's OrderResultURL: the browser's post after paying. Verified, then only displayed: the page
    /// polls the transaction, whose status only Settlement changes.
    /// </summary>
    public static async Task<ContentHttpResult> OrderResult(HttpRequest request, GetTransaction getTransaction, PaymentsApiSettings settings, CancellationToken ct)
    {
        var (body, _) = await StrictUtf8Body.ReadAsync(request, (int)BodyLimit.EcpayForm.Bytes, ct);
        var credentials = settings.Ecpay.Credentials();
        // Only the fields ECPay posts there, in their formats, and a valid MAC (EcpayPostFields: the same allowlist as Notifications).
        if (body is null || !EcpayForm.TryParse(body, out var form, out _) || EcpayPostFields.Problem(EcpayPostKind.OrderResultUrl, form) is not null
            || !CheckMacValue.Verify(form, credentials.HashKey, credentials.HashIv)
            || !PaymentResult.TryParse(EcpayPostKind.OrderResultUrl, form, out var result, out _) || result.MerchantId != credentials.MerchantId)
        {
            return Pages.Error(400, "This payment result could not be verified", "The result did not come from ECPay. Your payment status is unchanged; check your transactions.");
        }
        // Only the id, for the page to poll with the user's token; nothing of the deposit is shown here.
        var transaction = await getTransaction.ByMerchantTradeNoAsync(result.MerchantTradeNo, ct);
        if (transaction is null) return Pages.Error(404, "Unknown order", $"No deposit has the number {result.MerchantTradeNo}.");
        return TypedResults.Content(Pages.OrderResult(transaction.Id, result), "text/html; charset=utf-8");
    }

    private static bool TryParseId(string raw, out long id) =>
        long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0 && raw.Length <= 19;

    private static ValidationProblem InvalidId(string field) =>
        Invalid(new Dictionary<string, string[]> { [field] = ["must be a positive whole number."] });

    private static ValidationProblem Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "The request is not valid.");

    private static ProblemHttpResult NotFoundProblem(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found.", detail: detail);

    private static ProblemHttpResult UserNotFound(long id) => NotFoundProblem($"User {id} does not exist.");

    private static ProblemHttpResult OperatorsMoveNoMoney() => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden,
        title: "Operators move no money.", detail: "Operator accounts read users and transactions; deposits and withdrawals are for customers' own accounts.");

    private static ProblemHttpResult OperatorsOnly() => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden,
        title: "Operators only.", detail: "Listing users is for members of the operators group.");

    private static string ETagOf(TransactionView transaction)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(transaction, PaymentsApiJsonContext.Default.TransactionView);
        return "\"" + Convert.ToHexStringLower(SHA256.HashData(json).AsSpan(0, 12)) + "\"";
    }

    private static bool IfNoneMatch(HttpRequest request, string etag)
    {
        var header = request.Headers.IfNoneMatch;
        if (header.Count == 0) return false;
        if (!EntityTagHeaderValue.TryParseList(header, out var tags)) return false;
        var current = EntityTagHeaderValue.Parse(etag);
        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(current, useStrongComparison: false));
    }

    private static bool WantsJson(HttpRequest request)
    {
        var accept = request.Headers.Accept.ToString();
        return accept.Contains("application/json", StringComparison.OrdinalIgnoreCase) && !accept.Contains("text/html", StringComparison.OrdinalIgnoreCase);
    }
}
