using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Security.Cryptography;
using System.CommandLine;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Cognito;
using EcpayEvents.Cli.Demo;
using EcpayEvents.Ecpay;

using EcpayEvents.Messaging.StepFunctions;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events demo` — drives one complete card payment against a running stack without a browser:
/// a new person signs up on the local identity provider (.local/run/cognito.json) and signs in → user → deposit → checkout form fetched and posted to the ECPay sandbox → paid → ReturnURL answered
/// 1|OK → settled → balance up by the amount. With --stepfunctions it also leaves a deposit unpaid and
/// waits for its payment-timeout to expire it. Exit 0 only if everything ended as it should.
/// </summary>
public static class DemoCommand
{
    /// <summary>`ecpay-events demo ARGS` in this process, on the console.</summary>
    public static Task<int> RunAsync(string[] args) =>
        EcpayEventsCommandLine.InvokeAsync(["demo", .. args], CliContext.For(Console.Out, Console.Error, Environment.GetEnvironmentVariable));

    public static Command Create(CliContext context)
    {
        var local = context.Local;
        var apiOption = new Option<string>("--api") { Description = "PaymentsApi", DefaultValueFactory = _ => local?.PaymentsApi ?? "http://127.0.0.1:5080", HelpName = "URL" };
        var sandboxOption = new Option<string>("--sandbox") { Description = "the ECPay sandbox", DefaultValueFactory = _ => local?.Sandbox ?? "http://127.0.0.1:5090", HelpName = "URL" };
        var amountOption = new Option<long>("--amount") { Description = "TWD to pay by card (at least 5, ECPay's card minimum)", DefaultValueFactory = _ => 100, HelpName = "TWD" };
        amountOption.Validators.Add(r => { if (r.ValueOr(5L) < 5) r.AddError("--amount must be a whole number of TWD, at least 5 (ECPay's card minimum)"); });
        var timeoutOption = Positive("--timeout", "seconds each step may take", 60);
        var maxExpiryWaitOption = Positive("--max-expiry-wait", "seconds the expiry part may wait for the deposit to expire", 1200);
        var cognitoOption = new Option<string>("--cognito") { Description = "the local identity provider's settings (written by ./run.sh)", DefaultValueFactory = _ => local?.CognitoSettings ?? Path.Combine(".local", "run", "cognito.json"), HelpName = "FILE" };
        var stepFunctionsOption = new Option<string>("--stepfunctions") { Description = "also: an unpaid deposit must expire through its payment-timeout execution on this Step Functions endpoint", HelpName = "URL" };
        stepFunctionsOption.Validators.Add(r =>
        {
            if (!Uri.TryCreate(r.GetValueOrDefault<string>(), UriKind.Absolute, out _)) r.AddError("--stepfunctions is not an absolute URL");
        });
        var demo = new Command("demo", """
            drive one card payment end to end against a running stack without a browser: sign up on the local identity
            provider, create a user and a deposit, post the checkout form to the sandbox, pay, see ReturnURL answered 1|OK,
            settled and the balance up; with --stepfunctions also leave a deposit unpaid and watch it expire.
            Exit 0 only if everything ended as it should.
            """) { apiOption, sandboxOption, amountOption, timeoutOption, cognitoOption, stepFunctionsOption, context.Options.StateMachineArn, maxExpiryWaitOption };
        demo.SetAction(parse => RunAsync(parse.GetValue(apiOption)!.TrimEnd('/'), parse.GetValue(sandboxOption)!.TrimEnd('/'), parse.GetValue(amountOption),
            parse.GetValue(timeoutOption), parse.GetValue(maxExpiryWaitOption), parse.GetValue(cognitoOption)!, parse.GetValue(stepFunctionsOption) is { } sfn ? new Uri(sfn) : null,
            parse.GetValue(context.Options.StateMachineArn) ?? Settings.LocalStateMachineArn));
        return demo;
    }

    private static Option<int> Positive(string name, string description, int fallback)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => fallback, HelpName = "SECONDS" };
        option.Validators.Add(r => { if (r.ValueOr(1) < 1) r.AddError($"{name} must be a positive number of seconds"); });
        return option;
    }

    private static async Task<int> RunAsync(string api, string sandbox, long amount, int timeoutSeconds, int maxExpiryWait, string cognitoPath, Uri? stepFunctionsUrl, string arn)
    {
        var expiryScenario = stepFunctionsUrl is not null;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        var demo = new Demo(http, api, sandbox, cognitoPath, TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            var ok = await demo.CardPaymentAsync(amount);
            if (ok && expiryScenario)
            {
                Console.WriteLine();
                Console.WriteLine("== Demo: a deposit nobody pays expires through its payment-timeout execution");
                var stepFunctions = new StepFunctionsClient(http, new() { ServiceUrl = stepFunctionsUrl, StateMachineArn = arn });
                ok = await DemoExpiry.RunAsync(new Uri(api), stepFunctions, arn, Console.Out, TimeSpan.FromSeconds(timeoutSeconds),
                    httpClient: http, maxWait: TimeSpan.FromSeconds(maxExpiryWait));
            }
            Console.WriteLine(ok ? "demo: OK" : "demo: FAILED");
            return ok ? 0 : 1;
        }
        catch (DemoFailure e)
        {
            Console.Error.WriteLine($"  FAIL  {e.Message}");
            Console.WriteLine("demo: FAILED");
            return 1;
        }
        catch (HttpRequestException e)
        {
            return Failed($"could not reach a service: {e.Message} (is the stack running? ./run.sh)");
        }
        catch (TaskCanceledException)
        {
            return Failed($"a service did not answer within {http.Timeout.TotalSeconds:0} s (see the services' logs in .local/run/logs/)");
        }
        catch (CognitoException e)
        {
            return Failed($"signing the demo user in failed: {e.Message} (the demo signs up on the local identity provider; is the stack running? ./run.sh)");
        }
        catch (Exception e) when (e is InvalidOperationException or JsonException or StepFunctionsException)
        {
            return Failed(e.Message);
        }
    }

    private static int Failed(string message)
    {
        Console.Error.WriteLine($"  FAIL  {message}");
        Console.WriteLine("demo: FAILED");
        return 1;
    }

    private sealed class DemoFailure(string message) : Exception(message);

    private sealed class Demo(HttpClient http, string api, string sandbox, string cognitoPath, TimeSpan timeout)
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();

        private void Step(string what) => Console.WriteLine($"  ok    [{clock.Elapsed.TotalSeconds,5:0.0}s] {what}");

        public async Task<bool> CardPaymentAsync(long amount)
        {
            await ExpectHealthyAsync(api, "PaymentsApi");
            await ExpectHealthyAsync(sandbox, "ECPay sandbox");
            await SignInAsync();

            var (userId, before) = await CreateUserAsync();
            var deposit = await CreateDepositAsync(userId, amount, "Credit");
            var tradeNo = deposit["merchantTradeNo"]!.GetValue<string>();
            var transactionId = deposit["transactionId"]!.GetValue<long>();
            await CheckoutAsync(deposit["checkoutUrl"]!.GetValue<string>(), tradeNo);

            var paid = await SendJsonAsync(HttpMethod.Post, $"{sandbox}/sandbox/orders/{tradeNo}/pay", new JsonObject { ["method"] = "card" });
            Step($"paid by card in the sandbox (ECPay TradeNo {paid["tradeNo"]})");

            var delivery = await WaitForAsync("the sandbox to deliver ReturnURL and get 1|OK", async () =>
            {
                var order = await GetJsonAsync($"{sandbox}/sandbox/orders/{tradeNo}");
                return order["deliveries"]!.AsArray().FirstOrDefault(d => d!["kind"]!.GetValue<string>() == "ReturnURL" && d["acknowledged"]!.GetValue<bool>());
            });
            Step($"notified: ReturnURL answered 1|OK after {delivery["attempts"]!.AsArray().Count} attempt(s)");

            var status = await WaitForStatusAsync(transactionId);
            if (status != "completed") throw new DemoFailure($"deposit {tradeNo} ended {status}, not completed");
            Step($"settled: deposit {tradeNo} is completed");

            var after = (await GetJsonAsync($"{api}/users/{userId}"))["balance"]!.GetValue<long>();
            if (after != before + amount) throw new DemoFailure($"balance is {after} TWD; expected {before} + {amount} = {before + amount}");
            Step($"balance {before} → {after} TWD (+{amount})");
            return true;
        }

        /// <summary>
        /// A new person on the local identity provider: SignUp, AdminConfirmSignUp (which cognito-local
        /// accepts unsigned), InitiateAuth; every later request carries the access token.
        /// </summary>
        private async Task SignInAsync()
        {
            var cognito = CognitoSettings.Load(cognitoPath);
            var client = new CognitoClient(http, cognito.Endpoint);
            var email = $"demo-{Guid.NewGuid().ToString("N")[..8]}@example.com";
            var password = "Demo-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + "-9";
            await client.SignUpAsync(cognito.ClientId, email, password);
            await client.AdminConfirmSignUpAsync(cognito.UserPoolId, email);
            var tokens = await client.SignInAsync(cognito.ClientId, email, password);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            Step($"signed in as {email} ({cognito.Issuer})");
        }

        private async Task<(long UserId, long Balance)> CreateUserAsync()
        {
            var name = "demo" + Guid.NewGuid().ToString("N")[..8];
            var user = await SendJsonAsync(HttpMethod.Post, $"{api}/users", new JsonObject { ["username"] = name, ["email"] = $"{name}@example.com" });
            var id = user["id"]!.GetValue<long>();
            var balance = user["balance"]!.GetValue<long>();
            Step($"created user {id} ({name}), balance {balance} TWD");
            return (id, balance);
        }

        private async Task<JsonNode> CreateDepositAsync(long userId, long amount, string method)
        {
            var deposit = await SendJsonAsync(HttpMethod.Post, $"{api}/users/{userId}/deposits",
                new JsonObject { ["amount"] = amount, ["paymentMethod"] = method, ["itemName"] = "Demo deposit" });
            Step($"deposit created: {deposit["merchantTradeNo"]} (transaction {deposit["transactionId"]}), {amount} TWD by {method}, {deposit["status"]} until {deposit["expiresAt"]}");
            return deposit;
        }

        /// <summary>What the browser does with the self-submitting form, as a script: fetch the fields, post them to ECPay.</summary>
        private async Task CheckoutAsync(string checkoutUrl, string tradeNo)
        {
            var form = await GetJsonAsync(checkoutUrl);
            var action = form["action"]!.GetValue<string>();
            var fields = form["fields"]!.AsArray().Select(f => new KeyValuePair<string, string>(f!["name"]!.GetValue<string>(), f["value"]!.GetValue<string>())).ToList();
            Step($"checkout form fetched: {fields.Count} fields, posts to {action}");
            if (!action.StartsWith(sandbox + "/", StringComparison.OrdinalIgnoreCase))
                throw new DemoFailure($"the checkout form posts to {action}, not to the sandbox {sandbox} (check Ecpay:BaseUrl)");
            using var request = new HttpRequestMessage(HttpMethod.Post, action)
            {
                Content = new StringContent(EcpayForm.ToFormBody(fields), Encoding.UTF8, "application/x-www-form-urlencoded"),
            };
            using var response = await http.SendAsync(request);
            var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            if (!answer["ok"]!.GetValue<bool>())
                throw new DemoFailure($"the sandbox rejected the checkout form of {tradeNo}: {answer["code"]} {answer["message"]}");
            Step($"checkout form posted to the sandbox: order {tradeNo} accepted");
        }

        private async Task<string> WaitForStatusAsync(long transactionId, TimeSpan? within = null)
        {
            string? etag = null;
            var status = "pending";
            await WaitForAsync($"transaction {transactionId} to leave pending", async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{api}/transactions/{transactionId}");
                if (etag is not null) request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(etag));
                using var response = await http.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.NotModified) return null;
                await EnsureOkAsync(response);
                etag = response.Headers.ETag?.ToString();
                status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<string>();
                return status == "pending" ? null : status;
            }, within);
            return status;
        }

        private async Task<T> WaitForAsync<T>(string what, Func<Task<T?>> probe, TimeSpan? within = null) where T : class
        {
            var deadline = DateTime.UtcNow + (within ?? timeout);
            while (true)
            {
                if (await probe() is { } found) return found;
                if (DateTime.UtcNow > deadline)
                    throw new DemoFailure($"timed out after {(within ?? timeout).TotalSeconds:0} s waiting for {what} (see the services' logs)");
                await Task.Delay(500);
            }
        }

        private async Task ExpectHealthyAsync(string baseUrl, string name)
        {
            try
            {
                using var response = await http.GetAsync($"{baseUrl}/healthz");
                if (!response.IsSuccessStatusCode) throw new DemoFailure($"{name} at {baseUrl} is not healthy (HTTP {(int)response.StatusCode})");
            }
            catch (HttpRequestException e)
            {
                throw new DemoFailure($"{name} is not reachable at {baseUrl}: {e.Message} (is the stack running? ./run.sh)");
            }
        }

        private async Task<JsonNode> GetJsonAsync(string url)
        {
            using var response = await http.GetAsync(url);
            await EnsureOkAsync(response);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }

        private async Task<JsonNode> SendJsonAsync(HttpMethod method, string url, JsonObject body)
        {
            using var request = new HttpRequestMessage(method, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request);
            await EnsureOkAsync(response);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }

        private static async Task EnsureOkAsync(HttpResponseMessage response)
        {
            if (response.IsSuccessStatusCode) return;
            var body = await response.Content.ReadAsStringAsync();
            throw new DemoFailure($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] : body)}");
        }
    }
}
