using System.Text.RegularExpressions;
using EcpayEvents.Testing;
using YamlDotNet.RepresentationModel;

namespace EcpayEvents.Infrastructure.Tests;

/// <summary>template.yaml is what deploys: check it against the repository it deploys.</summary>
public sealed partial class TemplateTests
{
    private static readonly string TemplatePath = Path.Combine(RepoPaths.Root, "template.yaml");

    private static YamlMappingNode Root()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(TemplatePath);
        yaml.Load(reader); // CloudFormation's short tags (!Ref, !Sub, !GetAtt) load as tagged scalars/sequences.
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    private static YamlMappingNode Resources() => (YamlMappingNode)Root()["Resources"];

    private static string Scalar(YamlNode node) => ((YamlScalarNode)node).Value!;

    private static IEnumerable<(string Name, YamlMappingNode Properties, YamlMappingNode Resource)> OfType(string type) =>
        Resources().Children
            .Select(kv => (Name: ((YamlScalarNode)kv.Key).Value!, Resource: (YamlMappingNode)kv.Value))
            .Where(r => ((YamlScalarNode)r.Resource["Type"]).Value == type)
            .Select(r => (r.Name, (YamlMappingNode)r.Resource["Properties"], r.Resource));

    [Fact]
    public void EveryServiceHasAFunctionBuiltByTheMakefile()
    {
        var functions = OfType("AWS::Serverless::Function").Select(f => f.Name).ToList();
        var makefile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Makefile"));
        foreach (var service in new[] { "Notifications", "Settlement", "PaymentsApi", "Timeouts" })
        {
            Assert.Contains($"{service}Function", functions);
            Assert.Contains($"build-{service}Function:", makefile);
            Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "services", $"EcpayEvents.{service}", $"EcpayEvents.{service}.csproj")));
        }
    }

    [Fact]
    public void TheGatewayThrottlesStartingDepositsAndWithdrawalsOnRoutesThatExist()
    {
        // API Gateway mirrors PaymentsApi's own limits: RouteSettings only apply to routes the API has.
        var api = OfType("AWS::Serverless::HttpApi").Single(a => a.Name == "HttpApi").Properties;
        var routes = (YamlMappingNode)api["RouteSettings"];
        var paymentsApi = (YamlMappingNode)OfType("AWS::Serverless::Function").Single(f => f.Name == "PaymentsApiFunction").Properties["Events"];
        var declared = paymentsApi.Children.Values.Cast<YamlMappingNode>().Select(e => (YamlMappingNode)e["Properties"])
            .Select(p => $"{Scalar(p["Method"])} {Scalar(p["Path"])}").ToList();
        foreach (var route in new[] { "POST /users/{id}/deposits", "POST /users/{id}/withdrawals" })
        {
            Assert.Contains(route, declared);
            var settings = (YamlMappingNode)routes[route];
            Assert.InRange(int.Parse(Scalar(settings["ThrottlingRateLimit"])), 1, 100);
            Assert.InRange(int.Parse(Scalar(settings["ThrottlingBurstLimit"])), 1, 200);
        }
        Assert.True(int.Parse(Scalar(((YamlMappingNode)api["DefaultRouteSettings"])["ThrottlingRateLimit"])) > 0);
    }

    [Fact]
    public void SettlementReportsBatchItemFailuresAndTheQueueHasADeadLetterQueue()
    {
        var settlement = OfType("AWS::Serverless::Function").Single(f => f.Name == "SettlementFunction").Properties;
        var sqsEvent = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)settlement["Events"])["PaymentResults"])["Properties"];
        Assert.Contains("ReportBatchItemFailures", ((YamlSequenceNode)sqsEvent["FunctionResponseTypes"]).Children.Select(c => ((YamlScalarNode)c).Value));

        var queue = OfType("AWS::SQS::Queue").Single(q => q.Name == "PaymentResultsQueue").Properties;
        var redrive = (YamlMappingNode)queue["RedrivePolicy"];
        Assert.Equal("PaymentResultsDeadLetterQueue.Arn", ((YamlScalarNode)redrive["deadLetterTargetArn"]).Value);
        Assert.True(int.Parse(((YamlScalarNode)queue["VisibilityTimeout"]).Value!) >= 6 * 15, "visibility timeout must cover the consumer's timeout");
    }

    [Fact]
    public void TheStateMachineDefinitionExistsAndEverySubstitutionItUsesIsProvided()
    {
        var machine = OfType("AWS::Serverless::StateMachine").Single().Properties;
        var definition = Path.Combine(RepoPaths.Root, ((YamlScalarNode)machine["DefinitionUri"]).Value!);
        Assert.True(File.Exists(definition), definition);
        var provided = ((YamlMappingNode)machine["DefinitionSubstitutions"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
        var used = Placeholder().Matches(File.ReadAllText(definition)).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.NotEmpty(used);
        Assert.Subset(provided!, used);
    }

    [Fact]
    public void NoSecretValueIsWrittenInTheTemplate()
    {
        var text = File.ReadAllText(TemplatePath);
        // The public stage HashKey/HashIV must not appear either: secrets come from SSM by name.
        Assert.DoesNotContain("pwFHCqoQZGmho4w6", text);
        Assert.DoesNotContain("EkRm7iFT261dpevs", text);
        Assert.DoesNotMatch(PasswordLiteral(), text);
    }

    [Theory]
    [InlineData("SettlementFunction", "500-599")]
    [InlineData("TimeoutsFunction", "400-599")] // a rejected input (400) must fail the Reconcile task too, as on the local server
    public void NonHttpFunctionsTurnErrorAnswersIntoAFailedInvocation(string function, string codes)
    {
        // Lambda Web Adapter otherwise reports any /events answer as success: a failed batch would
        // be deleted and a failed Reconcile would skip the state machine's retries.
        var properties = OfType("AWS::Serverless::Function").Single(f => f.Name == function).Properties;
        var variables = (YamlMappingNode)((YamlMappingNode)properties["Environment"])["Variables"];
        Assert.Equal(codes, ((YamlScalarNode)variables["AWS_LWA_ERROR_STATUS_CODES"]).Value);
    }

    [Fact]
    public void TheLocalStepFunctionsServerFailsTasksOnTheTimeoutsFunctionsStatusCodesByDefault()
    {
        var properties = OfType("AWS::Serverless::Function").Single(f => f.Name == "TimeoutsFunction").Properties;
        var codes = Scalar(((YamlMappingNode)((YamlMappingNode)properties["Environment"])["Variables"])["AWS_LWA_ERROR_STATUS_CODES"]);
        var server = File.ReadAllText(Path.Combine(RepoPaths.Root, "infrastructure", "local", "stepfunctions-server.mjs"));
        Assert.Contains($"lambdaErrorStatusCodes: parseStatusCodes('{codes}')", server);
    }

    [Fact]
    public void FunctionsUseLambdaWebAdapter1WhichKeepsTheBodyOfAnErrorAnswer()
    {
        // Layer 26 dropped the body of an AWS_LWA_ERROR_STATUS_CODES answer (aws-lambda-web-adapter#609); 1.0.0 (27) keeps it.
        var globals = (YamlMappingNode)((YamlMappingNode)Root()["Globals"])["Function"];
        // The other layer is the optional ADOT collector (TracesGoToTheCollectorLayerOverOtlpOnlyWhenItIsGiven).
        var layer = Scalar(Assert.Single(((YamlSequenceNode)globals["Layers"]).Children.OfType<YamlScalarNode>()));
        Assert.EndsWith(":753240598075:layer:LambdaAdapterLayerArm64:27", layer);
        // The layer's architecture is the functions' (the Makefile publishes linux-arm64).
        Assert.Equal("arm64", Scalar(Assert.Single(((YamlSequenceNode)globals["Architectures"]).Children)));
        Assert.Contains("-r linux-arm64", File.ReadAllText(Path.Combine(RepoPaths.Root, "Makefile")));
    }

    [Fact]
    public void TheStateMachineMayDeliverItsLogsToCloudWatch()
    {
        var machine = OfType("AWS::Serverless::StateMachine").Single().Properties;
        Assert.NotNull(((YamlMappingNode)machine["Logging"])["Destinations"]);
        var statements = ((YamlSequenceNode)machine["Policies"]).Children.OfType<YamlMappingNode>()
            .Where(p => p.Children.ContainsKey(new YamlScalarNode("Statement")))
            .SelectMany(p => ((YamlSequenceNode)p["Statement"]).Children.Cast<YamlMappingNode>())
            .ToList();
        var logs = Assert.Single(statements, s => ((YamlSequenceNode)s["Action"]).Children.Any(a => Scalar(a).StartsWith("logs:", StringComparison.Ordinal)));
        Assert.Equal("Allow", Scalar(logs["Effect"]));
        Assert.Equal("*", Scalar(logs["Resource"]));
        string[] required =
        [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ];
        Assert.Subset(((YamlSequenceNode)logs["Action"]).Children.Select(Scalar).ToHashSet(), required.ToHashSet());
    }

    [Theory]
    [InlineData("ExecutionsFailed")]
    [InlineData("ExecutionsTimedOut")]
    [InlineData("ExecutionsAborted")]
    public void AnExecutionThatDoesNotSucceedRaisesAnAlarm(string metric)
    {
        var alarm = Assert.Single(OfType("AWS::CloudWatch::Alarm"), a => Scalar(a.Properties["MetricName"]) == metric).Properties;
        Assert.Equal("AWS/States", Scalar(alarm["Namespace"]));
        var dimension = (YamlMappingNode)Assert.Single(((YamlSequenceNode)alarm["Dimensions"]).Children);
        Assert.Equal("StateMachineArn", Scalar(dimension["Name"]));
        var value = (YamlScalarNode)dimension["Value"];
        Assert.Equal(("!Ref", "PaymentTimeoutStateMachine"), (value.Tag.Value, value.Value));
        Assert.Equal("GreaterThanThreshold", Scalar(alarm["ComparisonOperator"]));
        Assert.Equal("0", Scalar(alarm["Threshold"]));
    }

    [Fact]
    public void EveryAlarmNotifiesTheOperatorsTopicWhenOneIsGiven()
    {
        var alarms = OfType("AWS::CloudWatch::Alarm").ToList();
        Assert.Equal(9, alarms.Count); // DLQ, three on executions, five on our metrics
        foreach (var (name, properties, _) in alarms)
        {
            Assert.True(properties.Children.ContainsKey("AlarmActions"), $"{name} has no AlarmActions");
            var actions = (YamlSequenceNode)properties["AlarmActions"];
            Assert.Equal("!If", actions.Tag.Value);
            Assert.Equal("HasAlarmTopic", Scalar(actions.Children[0]));
            var topic = (YamlScalarNode)Assert.Single(((YamlSequenceNode)actions.Children[1]).Children);
            Assert.Equal(("!Ref", "AlarmTopicArn"), (topic.Tag.Value, topic.Value));
            var none = (YamlScalarNode)actions.Children[2];
            Assert.Equal(("!Ref", "AWS::NoValue"), (none.Tag.Value, none.Value));
        }
        var condition = (YamlSequenceNode)((YamlMappingNode)Root()["Conditions"])["HasAlarmTopic"];
        Assert.Equal("!Not", condition.Tag.Value);
        var parameter = (YamlMappingNode)((YamlMappingNode)Root()["Parameters"])["AlarmTopicArn"];
        Assert.Equal("", Scalar(parameter["Default"]));
    }

    [Fact]
    public void TheSubnetsSayWhatTheFunctionsInThemMustReach()
    {
        var description = Scalar(((YamlMappingNode)((YamlMappingNode)Root()["Parameters"])["SubnetIds"])["Description"]);
        Assert.Contains("NAT", description);
        Assert.Contains("VPC interface endpoints", description);
        foreach (var service in new[] { "states", "SQS", "SSM", "ECPay" })
            Assert.Contains(service, description);
    }

    // ---------------------------------------------------------------- identity and access

    /// <summary>The routes that need no token, and why: ECPay's posts (CheckMacValue), the page shell and its sign-in
    /// settings (no user data), the signed checkout link, the readiness check, the API's OpenAPI document (its shape, no data).</summary>
    private static readonly string[] OpenRoutes =
        ["POST /ecpay/return", "POST /ecpay/payment-info", "GET /", "GET /session.js", "GET /auth/config", "GET /checkout/{id}", "POST /ecpay/order-result", "GET /healthz", "GET /openapi/v1.json"];

    private static IEnumerable<(string Function, string Route, YamlMappingNode Properties)> HttpApiEvents() =>
        OfType("AWS::Serverless::Function")
            .Where(f => f.Properties.Children.ContainsKey("Events"))
            .SelectMany(f => ((YamlMappingNode)f.Properties["Events"]).Children.Values.Cast<YamlMappingNode>()
                .Where(e => Scalar(e["Type"]) == "HttpApi")
                .Select(e => (YamlMappingNode)e["Properties"])
                .Select(p => (f.Name, $"{Scalar(p["Method"])} {Scalar(p["Path"])}", p)));

    private static bool IsOpen(YamlMappingNode eventProperties) =>
        eventProperties.Children.TryGetValue("Auth", out var auth) && Scalar(((YamlMappingNode)auth)["Authorizer"]) == "NONE";

    [Fact]
    public void EveryRouteNeedsACognitoAccessTokenExceptTheOpenOnes()
    {
        var api = (YamlMappingNode)Resources()["HttpApi"];
        var auth = (YamlMappingNode)((YamlMappingNode)api["Properties"])["Auth"];
        Assert.Equal("CognitoAccessToken", Scalar(auth["DefaultAuthorizer"]));
        var jwt = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)auth["Authorizers"])["CognitoAccessToken"])["JwtConfiguration"];
        Assert.Equal("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}", Scalar(jwt["issuer"]));
        var audience = Assert.Single(((YamlSequenceNode)jwt["audience"]).Children);
        Assert.Equal("!Ref", audience.Tag.Value);
        Assert.Equal("UserPoolWebClient", Scalar(audience));

        var events = HttpApiEvents().ToList();
        Assert.Equal(OpenRoutes.Order(), events.Where(e => IsOpen(e.Properties)).Select(e => e.Route).Order());
        Assert.Contains(events, e => e.Function == "PaymentsApiFunction" && e.Route == "ANY /{proxy+}" && !IsOpen(e.Properties));
    }

    [Fact]
    public void TheRoutesOpenAtTheGatewayAreExactlyThoseThePaymentsApiOpens()
    {
        // PaymentsApi denies by default; its open endpoints say AllowAnonymous where they are mapped.
        var source = string.Join("\n", Directory.GetFiles(Path.Combine(RepoPaths.Root, "services", "EcpayEvents.PaymentsApi"), "*.cs").Select(File.ReadAllText));
        var open = AllowAnonymousMapping().Matches(source).Select(m => $"{m.Groups[1].Value.ToUpperInvariant()} {m.Groups[2].Value}").ToHashSet();
        // The health check is mapped by the shared host (ServiceHost.MapHealth) and opened in PaymentsApiApp.
        if (source.Contains("MapHealth().AllowAnonymous()", StringComparison.Ordinal)) open.Add("GET /healthz");
        // The OpenAPI document is mapped by Microsoft.AspNetCore.OpenApi (ApiDocument.MapApiDocument), one document: v1.
        if (source.Contains("""MapOpenApi("/openapi/{documentName}.json").AllowAnonymous()""", StringComparison.Ordinal)) open.Add("GET /openapi/v1.json");
        var atGateway = HttpApiEvents().Where(e => e.Function == "PaymentsApiFunction" && IsOpen(e.Properties)).Select(e => e.Route).ToHashSet();
        Assert.Equal(open.Order(), atGateway.Order());
    }

    [Fact]
    public void TheUserPoolSignsInByEmailWithAPasswordPolicyOptionalTotpAndAnOperatorsGroup()
    {
        var pool = (YamlMappingNode)((YamlMappingNode)Resources()["UserPool"])["Properties"];
        Assert.Equal("email", Scalar(Assert.Single(((YamlSequenceNode)pool["UsernameAttributes"]).Children)));
        Assert.Equal("OPTIONAL", Scalar(pool["MfaConfiguration"]));
        Assert.Equal("SOFTWARE_TOKEN_MFA", Scalar(Assert.Single(((YamlSequenceNode)pool["EnabledMfas"]).Children)));
        var password = (YamlMappingNode)((YamlMappingNode)pool["Policies"])["PasswordPolicy"];
        Assert.True(int.Parse(Scalar(password["MinimumLength"])) >= 12);

        var client = (YamlMappingNode)((YamlMappingNode)Resources()["UserPoolWebClient"])["Properties"];
        Assert.Equal("false", Scalar(client["GenerateSecret"]));
        Assert.Equal("UserPool", Scalar(client["UserPoolId"]));
        Assert.Equal("60", Scalar(client["AccessTokenValidity"]));
        Assert.Equal("minutes", Scalar(((YamlMappingNode)client["TokenValidityUnits"])["AccessToken"]));
        Assert.Contains("ALLOW_REFRESH_TOKEN_AUTH", ((YamlSequenceNode)client["ExplicitAuthFlows"]).Children.Select(Scalar));

        var group = (YamlMappingNode)((YamlMappingNode)Resources()["OperatorsGroup"])["Properties"];
        Assert.Equal("operators", Scalar(group["GroupName"]));

        var outputs = (YamlMappingNode)Root()["Outputs"];
        foreach (var name in new[] { "UserPoolId", "UserPoolClientId", "UserPoolIssuer" }) Assert.True(outputs.Children.ContainsKey(name), name);
    }

    [Fact]
    public void PaymentsApiTrustsThePoolAndReadsItsLinkKeyFromSsm()
    {
        var function = OfType("AWS::Serverless::Function").Single(f => f.Name == "PaymentsApiFunction").Properties;
        var variables = (YamlMappingNode)((YamlMappingNode)function["Environment"])["Variables"];
        Assert.Equal("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}", Scalar(variables["PaymentsApi__Cognito__Issuer"]));
        Assert.Equal("UserPoolWebClient", Scalar(variables["PaymentsApi__Cognito__ClientId"]));
        Assert.False(variables.Children.ContainsKey("PaymentsApi__Cognito__LocalConfirm"));
        Assert.Equal("LinkSigningKeyParameter", Scalar(variables["Ssm__PaymentsApi__LinkSigningKey"]));
        Assert.Contains(((YamlSequenceNode)function["Policies"]).Children.Cast<YamlMappingNode>(),
            p => p.Children.TryGetValue("SSMParameterWithSlashPrefixReadPolicy", out var v) && Scalar(((YamlMappingNode)v)["ParameterName"]) == "LinkSigningKeyParameter");
    }

    [Fact]
    public void TheDashboardAndAlarmsShowOnlyMetricsTheServicesWriteAndEveryOneOfThem()
    {
        // MetricNames is the one list of what the services write as EMF lines (their tests check the lines).
        var dashboard = Resources().Children.Values.Cast<YamlMappingNode>().Single(r => Scalar(r["Type"]) == "AWS::CloudWatch::Dashboard");
        var body = Scalar(((YamlSequenceNode)((YamlMappingNode)dashboard["Properties"])["DashboardBody"]).Children[0]);
        var onDashboard = DashboardMetric().Matches(body).Select(m => m.Groups[1].Value)
            .Concat(SearchMetric().Matches(body).Select(m => m.Groups[1].Value)).ToHashSet();
        Assert.Equal(Hosting.MetricNames.All.Order(), onDashboard.Order());
        Assert.DoesNotContain("MerchantTradeNo", body, StringComparison.Ordinal);

        var ours = OfType("AWS::CloudWatch::Alarm").Where(a => Scalar(a.Properties["Namespace"]) == Hosting.MetricNames.Namespace).ToList();
        Assert.All(ours, a => Assert.Contains(Scalar(a.Properties["MetricName"]), Hosting.MetricNames.All));
        Assert.All(ours, a => Assert.All(((YamlSequenceNode)a.Properties["Dimensions"]).Children.Cast<YamlMappingNode>(),
            d => Assert.Equal(Hosting.MetricNames.ServiceDimension, Scalar(d["Name"]))));
        // The alarms an operator needs: rejected-post bursts, settle lag (ours); the DLQ and NeedsReview (AWS's).
        var alarmed = OfType("AWS::CloudWatch::Alarm").Select(a => Scalar(a.Properties["MetricName"])).ToHashSet();
        foreach (var metric in new[] { Hosting.MetricNames.NotificationRejected, Hosting.MetricNames.SettleLag, "ApproximateNumberOfMessagesVisible", "ExecutionsFailed" })
            Assert.Contains(metric, alarmed);
    }

    [Fact]
    public void TracesGoToTheCollectorLayerOverOtlpOnlyWhenItIsGiven()
    {
        var globals = (YamlMappingNode)((YamlMappingNode)Root()["Globals"])["Function"];
        Assert.Equal("Active", Scalar(globals["Tracing"]));
        var variables = (YamlMappingNode)((YamlMappingNode)globals["Environment"])["Variables"];
        var endpoint = (YamlSequenceNode)variables[Hosting.ServiceTelemetry.OtlpEndpointSetting];
        Assert.Equal("HasTracingCollector", Scalar(endpoint.Children[0]));
        Assert.Equal("http/protobuf", Scalar(variables["OTEL_EXPORTER_OTLP_PROTOCOL"]));
        Assert.Contains(((YamlSequenceNode)globals["Layers"]).Children.OfType<YamlSequenceNode>(), l => Scalar(l.Children[0]) == "HasTracingCollector");
    }

    [GeneratedRegex(@"\[""EcpayEvents"", ""(\w+)""")]
    private static partial Regex DashboardMetric();

    [GeneratedRegex(@"MetricName=\\""(\w+)\\""")]
    private static partial Regex SearchMetric();

    [GeneratedRegex("""Map(Get|Post|Put|Delete|Patch)\("([^"]+)",[^;]*?\)\.AllowAnonymous\(\)""")]
    private static partial Regex AllowAnonymousMapping();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"(?i)password\s*=\s*[^;\s]+")]
    private static partial Regex PasswordLiteral();
}
