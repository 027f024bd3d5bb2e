import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';
import { encryptedLogGroup } from '../observability/encrypted-log-group';

export interface RegionalIngressProps {
  /** Host names this region answers (regional, api, jurisdiction); the first is the main one. */
  readonly hostnames: readonly string[];
  /** Zone the certificate is validated in (imported by id; no lookup). */
  readonly zone: route53.IHostedZone;
  readonly healthFunction: lambda.IFunction;
  /** @default '/health' */
  readonly healthPath?: string;
  readonly key: kms.IKey;
  readonly logRetentionDays: number;
  /** Steady-state requests per second the stage accepts. @default 1000 */
  readonly rateLimit?: number;
  /** @default 2000 */
  readonly burstLimit?: number;
}

/**
 * The region's HTTPS ingress: an HTTP API whose `$default` stage logs every request to an
 * encrypted log group and is throttled, custom domains for every name the region serves (one
 * DNS-validated certificate), and the unauthenticated `GET <healthPath>` route that Route 53,
 * Cloudflare and the failover runbook probe.
 */
export class RegionalIngress extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly certificate: acm.Certificate;
  /** Custom domains by host name. */
  readonly domains: ReadonlyMap<string, apigwv2.DomainName>;
  readonly accessLogs: logs.LogGroup;
  /** Host of the API's own endpoint (`<id>.execute-api.<region>.amazonaws.com`): health checks probe it. */
  readonly executeApiHost: string;

  constructor(scope: Construct, id: string, props: RegionalIngressProps) {
    super(scope, id);
    const [main, ...others] = props.hostnames;
    if (!main) throw new Error('RegionalIngress: hostnames must name at least one host');
    const healthPath = props.healthPath ?? '/health';

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: `Meridian regional ingress (${main})`,
      createDefaultStage: false,
    });
    this.accessLogs = encryptedLogGroup(this, 'AccessLogs', {
      key: props.key,
      retentionDays: props.logRetentionDays,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      throttle: { rateLimit: props.rateLimit ?? 1000, burstLimit: props.burstLimit ?? 2000 },
    });
    const route = this.api.addRoutes({
      path: healthPath,
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpLambdaIntegration('Health', props.healthFunction),
    });
    acknowledge(route[0] ?? this.api, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-APIG4',
        reason:
          'The health route is probed by Route 53 and Cloudflare checkers, which cannot sign requests; it returns only up/down per dependency, no data.',
      },
      {
        pack: PACKS.guard,
        rule: 'api_gw_v2_authorization_type_configured_check',
        reason:
          'The health route is probed by Route 53 and Cloudflare checkers, which cannot sign requests; it returns only up/down per dependency, no data.',
      },
    ]);
    const permission = route[0]?.node.tryFindChild('Health-Permission');
    if (permission)
      acknowledge(permission, [
        {
          pack: PACKS.guard,
          rule: 'lambda_function_public_access_prohibited_check',
          reason:
            "The permission is for apigateway.amazonaws.com with SourceArn set to this API's execute-api ARN; the rule cannot read a SourceArn built with Fn::Join.",
        },
      ]);

    this.certificate = new acm.Certificate(this, 'Certificate', {
      domainName: main,
      subjectAlternativeNames: others,
      validation: acm.CertificateValidation.fromDns(props.zone),
    });
    const domains = new Map<string, apigwv2.DomainName>();
    props.hostnames.forEach((host, i) => {
      const domain = new apigwv2.DomainName(this, `Domain${i}`, {
        domainName: host,
        certificate: this.certificate,
        securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
      });
      new apigwv2.ApiMapping(this, `Mapping${i}`, {
        api: this.api,
        domainName: domain,
        stage: this.stage,
      });
      domains.set(host, domain);
    });
    this.domains = domains;
    const stack = this.api.stack;
    this.executeApiHost = `${this.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }

  /** The API Gateway regional domain name behind a host this ingress serves. */
  regionalDomainOf(host: string): string {
    const domain = this.domains.get(host);
    if (!domain) throw new Error(`RegionalIngress: ${host} is not one of its hosts`);
    return domain.regionalDomainName;
  }
}
