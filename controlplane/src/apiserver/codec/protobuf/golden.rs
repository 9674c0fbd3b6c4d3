//! Golden tests: request bodies captured from kubectl v1.32.4 against a recording HTTP server,
//! each paired with the JSON the same command prints with `--dry-run=client -o json`.
//!
//! kubectl builds the same Go object for both, so the decoded protobuf must equal the JSON
//! exactly: this pins field numbers, JSON names, omitempty and pointer handling, `null`
//! timestamps and `{}` for empty structs against the real encoder. The last case had the
//! recording server answer `GET cronjobs/cj` with a CronJob whose pod template sets nearly
//! every supported field, so its body is gogo-protobuf for a full PodSpec.

use super::decode;
use serde_json::Value;

/// One capture: the command, the protobuf body in hex, and kubectl's JSON for it.
struct Capture {
    command: &'static str,
    body_hex: &'static str,
    json: &'static str,
}

const CAPTURES: &[Capture] = &[
    Capture {
        command: "kubectl create configmap x --from-literal=a=b",
        body_hex: concat!(
            "6b3873000a0f0a0276311209436f6e6669674d6170121b0a110a017812001a0022002a003200380042001206",
            "0a01611201621a002200",
        ),
        json: r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","creationTimestamp":null},"data":{"a":"b"}}"#,
    },
    Capture {
        command: "kubectl create configmap cfg --from-literal=a=b --from-literal=c=d --from-file=bin=bin.dat --append-hash",
        body_hex: concat!(
            "6b3873000a0f0a0276311209436f6e6669674d6170123d0a1e0a0e6366672d39326d3537646d62373212001a",
            "0022002a0032003800420012060a016112016212060a01631201641a0b0a0362696e12040001feff1a002200",
        ),
        json: concat!(
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg-92m57dmb72","creationTimestamp":null},"#,
            r#""data":{"a":"b","c":"d"},"binaryData":{"bin":"AAH+/w=="}}"#,
        ),
    },
    Capture {
        command: "kubectl create secret generic s1 --from-literal=user=admin --from-literal=pw=s3cr3t --type=Opaque",
        body_hex: concat!(
            "6b3873000a0c0a027631120653656372657412390a120a02733112001a0022002a00320038004200120c0a02",
            "70771206733363723374120d0a0475736572120561646d696e1a064f70617175651a002200",
        ),
        json: concat!(
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","creationTimestamp":null},"data":{"pw":"czNjcjN0","#,
            r#""user":"YWRtaW4="},"type":"Opaque"}"#,
        ),
    },
    Capture {
        command: "kubectl create secret docker-registry reg --docker-server=r.example --docker-username=u --docker-password=p",
        body_hex: concat!(
            "6b3873000a0c0a02763112065365637265741291010a130a0372656712001a0022002a00320038004200125a",
            "0a112e646f636b6572636f6e6669676a736f6e12457b226175746873223a7b22722e6578616d706c65223a7b",
            "22757365726e616d65223a2275222c2270617373776f7264223a2270222c2261757468223a2264547077227d",
            "7d7d1a1e6b756265726e657465732e696f2f646f636b6572636f6e6669676a736f6e1a002200",
        ),
        json: concat!(
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"reg","creationTimestamp":null},"data":{".dockerconfigjson":"eyJhdXRocyI6eyJyLmV4YW1wbGUiOnsidXNlcm5hbWUiOiJ1IiwicGFzc3dvcmQiOiJwIiwiYXV0aCI6ImRUcHcifX19"},"#,
            r#""type":"kubernetes.io/dockerconfigjson"}"#,
        ),
    },
    Capture {
        command: "kubectl create namespace team-a",
        body_hex: concat!(
            "6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d6112001a0022002a00320038",
            "00420012001a020a001a002200",
        ),
        json: concat!(
            r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team-a","creationTimestamp":null},"#,
            r#""spec":{},"status":{}}"#,
        ),
    },
    Capture {
        command: "kubectl create serviceaccount builder",
        body_hex: concat!(
            "6b3873000a140a027631120e536572766963654163636f756e7412190a170a076275696c64657212001a0022",
            "002a003200380042001a002200",
        ),
        json: r#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"builder","creationTimestamp":null}}"#,
    },
    Capture {
        command: "kubectl create service clusterip web --tcp=80:8080 --tcp=443:https",
        body_hex: concat!(
            "6b3873000a0d0a027631120753657276696365128d010a1f0a0377656212001a0022002a003200380042005a",
            "0a0a03617070120377656212660a1b0a0738302d38303830120354435018502207080010903f1a0028000a22",
            "0a093434332d6874747073120354435018bb03220b080110001a0568747470732800120a0a03617070120377",
            "65621a002209436c757374657249503a00420052005a00600068001a020a001a002200",
        ),
        json: concat!(
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","creationTimestamp":null,"labels":{"app":"web"}},"#,
            r#""spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080},{"name":"443-https","#,
            r#""protocol":"TCP","port":443,"targetPort":"https"}],"selector":{"app":"web"},"type":"ClusterIP"},"#,
            r#""status":{"loadBalancer":{}}}"#,
        ),
    },
    Capture {
        command: "kubectl create service nodeport np --tcp=80:8080 --node-port=30080",
        body_hex: concat!(
            "6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022002a003200380042005a090a",
            "0361707012026e7012420a1d0a0738302d38303830120354435018502207080010903f1a002880eb0112090a",
            "0361707012026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200",
        ),
        json: concat!(
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"np","creationTimestamp":null,"labels":{"app":"np"}},"#,
            r#""spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080,"nodePort":30080}],"#,
            r#""selector":{"app":"np"},"type":"NodePort"},"status":{"loadBalancer":{}}}"#,
        ),
    },
    Capture {
        command: "kubectl create service externalname ext --external-name=db.example.com",
        body_hex: concat!(
            "6b3873000a0d0a027631120753657276696365125d0a1f0a0365787412001a0022002a003200380042005a0a",
            "0a0361707012036578741236120a0a0361707012036578741a00220c45787465726e616c4e616d653a004200",
            "520e64622e6578616d706c652e636f6d5a00600068001a020a001a002200",
        ),
        json: concat!(
            r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"ext","creationTimestamp":null,"labels":{"app":"ext"}},"#,
            r#""spec":{"selector":{"app":"ext"},"type":"ExternalName","externalName":"db.example.com"},"#,
            r#""status":{"loadBalancer":{}}}"#,
        ),
    },
    Capture {
        command: "kubectl create deployment d1 --image=nginx:1.27 --replicas=3 --port=80",
        body_hex: concat!(
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b9010a1d0a02643112001a0022002a00",
            "3200380042005a090a03617070120264311289010803120b0a090a03617070120264311a700a1b0a0012001a",
            "0022002a003200380042005a090a0361707012026431125112330a056e67696e78120a6e67696e783a312e32",
            "372a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a00520058",
            "00600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
        ),
        json: concat!(
            r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d1","creationTimestamp":null,"#,
            r#""labels":{"app":"d1"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"d1"}},"template":{"metadata":{"creationTimestamp":null,"#,
            r#""labels":{"app":"d1"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":80}],"#,
            r#""resources":{}}]}},"strategy":{}},"status":{}}"#,
        ),
    },
    Capture {
        command: "kubectl create deployment d0 --image=busybox --replicas=0 -- sleep 3600",
        body_hex: concat!(
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b9010a1d0a02643012001a0022002a00",
            "3200380042005a090a03617070120264301289010800120b0a090a03617070120264301a700a1b0a0012001a",
            "0022002a003200380042005a090a0361707012026430125112330a0762757379626f78120762757379626f78",
            "1a05736c6565701a04333630302a0042006a007200800100880100900100a201001a00320042004a00520058",
            "00600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
        ),
        json: concat!(
            r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"d0","creationTimestamp":null,"#,
            r#""labels":{"app":"d0"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"d0"}},"template":{"metadata":{"creationTimestamp":null,"#,
            r#""labels":{"app":"d0"}},"spec":{"containers":[{"name":"busybox","image":"busybox","command":["sleep","#,
            r#""3600"],"resources":{}}]}},"strategy":{}},"status":{}}"#,
        ),
    },
    Capture {
        command: "kubectl create job j1 --image=busybox -- echo hello world",
        body_hex: concat!(
            "6b3873000a0f0a0862617463682f763112034a6f62128e010a120a026a3112001a0022002a00320038004200",
            "126e326c0a100a0012001a0022002a00320038004200125812350a026a31120762757379626f781a04656368",
            "6f1a0568656c6c6f1a05776f726c642a0042006a007200800100880100900100a201001a054e657665723200",
            "42004a0052005800600068008201008a01009a0100c201001a082000280030003a001a002200",
        ),
        json: concat!(
            r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"j1","creationTimestamp":null},"#,
            r#""spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"j1","#,
            r#""image":"busybox","command":["echo","hello","world"],"resources":{}}],"restartPolicy":"Never"}}},"#,
            r#""status":{}}"#,
        ),
    },
    Capture {
        command: "kubectl autoscale deployment web --min=2 --max=5 --cpu-percent=80",
        body_hex: concat!(
            "6b3873000a290a0e6175746f7363616c696e672f76311217486f72697a6f6e74616c506f644175746f736361",
            "6c6572123f0a130a0377656212001a0022002a0032003800420012220a1a0a0a4465706c6f796d656e741203",
            "7765621a07617070732f76311002180520501a04180020001a002200",
        ),
        json: concat!(
            r#"{"kind":"HorizontalPodAutoscaler","apiVersion":"autoscaling/v1","metadata":{"name":"web","#,
            r#""creationTimestamp":null},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web","apiVersion":"apps/v1"},"#,
            r#""minReplicas":2,"maxReplicas":5,"targetCPUUtilizationPercentage":80},"status":{"currentReplicas":0,"#,
            r#""desiredReplicas":0}}"#,
        ),
    },
    Capture {
        command: "kubectl create job jx --from=cronjob/cj  (a CronJob whose pod template sets nearly every supported PodSpec field)",
        body_hex: concat!(
            "6b3873000a0f0a0862617463682f763112034a6f6212ac140a96010a026a7812001a0022002a003200380042",
            "005a090a047465616d120161622b0a2163726f6e6a6f622e6b756265726e657465732e696f2f696e7374616e",
            "746961746512066d616e75616c62090a046e6f74651201786a3f0a0743726f6e4a6f621a02636a2224356433",
            "63316335652d313131312d323232322d333333332d3434343435353535363636362a0862617463682f763130",
            "0112861308001003188407220a0a080a036a6f62120178280132e9110a330a001202742d1a0022002a003200",
            "380042005a080a036a6f6212017862060a0161120162720d6578616d706c652e636f6d2f6612b1110a0c0a04",
            "64617461120412020a000a190a036d656d121212100a064d656d6f727912060a0436344d690a250a03636667",
            "121e9a011b0a050a03636667120d0a01611205612e74787418a40318a40220000a1b0a03736563121432120a",
            "0373656312060a016b12017018800220010a1f0a04686f737412170a150a082f7661722f6c6f671209446972",
            "6563746f72790a110a05686f73743212080a060a042f746d700a120a03707663120b52090a05636c61696d10",
            "010a510a046461706912498201460a1d0a066c6162656c7312130a00120f6d657461646174612e6c6162656c",
            "730a220a036370751a180a03617070120c72657175657374732e6370751a030a013120800310a4030aa8010a",
            "03746f6b12a001d2019c010a11220f0a0361706910901c1a05746f6b656e0a281a260a120a106b7562652d72",
            "6f6f742d63612e63727412100a0663612e637274120663612e6372740a090a070a030a017320000a2912270a",
            "250a096e616d65737061636512180a02763112126d657461646174612e6e616d6573706163650a242a22120d",
            "6578616d706c652e636f6d2f731a080a060a01611201622205622e70656d280110a4031292070a0361707012",
            "1772656769737472792e6578616d706c652f6170703a76311a082f62696e2f61707022062d2d706f72742204",
            "383038302a052f776f726b32120a0468747470100018903f22035443502a0032170a00109295011882472203",
            "5544502a07302e302e302e303a0a0a05504c41494e1201763a090a05454d50545912003a1b0a0746524f4d5f",
            "434d12001a0e1a0c0a050a0363666712016b18003a1e0a0b46524f4d5f53454352455412001a0d220b0a050a",
            "03736563120270773a200a06504f445f495012001a140a120a027631120c7374617475732e706f6449503a22",
            "0a0343505512001a1912170a03617070120a6c696d6974732e6370751a040a02316d3a210a034d454d12001a",
            "1812160a00120d6c696d6974732e6d656d6f72791a030a0130426a0a0d0a0363707512060a043530306d0a11",
            "0a066d656d6f727912070a053132384d69120d0a0363707512060a043130306d121a0a11657068656d657261",
            "6c2d73746f7261676512050a0331476912100a066d656d6f727912060a0436344d691a090a03677075120272",
            "314a130a046461746110001a052f64617461220032004a260a0363666710011a082f6574632f636667220161",
            "2a044e6f6e6532003a0844697361626c65644a1f0a03746f6b10001a0c2f7661722f72756e2f746f6b220032",
            "062428504f442952360a2812260a082f6865616c74687a1207080010903f1a001a01682204485454502a080a",
            "03582d4112013110031801200a2801300338005a250a191a170a0a080110001a046874747012096c6f63616c",
            "686f73741000180020052800300062140a0c0a0a0a046563686f0a0268691204220208056a142f6465762f74",
            "65726d696e6174696f6e2d6c6f67720c49664e6f7450726573656e747a770a100a094e45545f41444d494e12",
            "03414c4c10001a0d0a01751201721a017422027330200028003001380040004a0744656661756c7452180a01",
            "6712027b7d1a0d436f6e7461696e65725573657220005a130a094c6f63616c686f73741206702e6a736f6e62",
            "100a0e52756e74696d6544656661756c748001018801009001019a01110a044346475f12090a050a03636667",
            "10019a010d0a001a090a050a037365631000a2011546616c6c6261636b546f4c6f67734f6e4572726f72aa01",
            "100a03626c6b12092f6465762f78766461b2011f0a130a110a036361740a0a2f746d702f7265616479100018",
            "0020002800301eba01120a03637075120b4e6f7452657175697265641a094f6e4661696c757265200028d804",
            "320c436c757374657246697273743a0b0a046469736b120373736442076275696c6465724a076275696c6465",
            "7252066e6f64652d31580060016800726f0a0d0a0012001a00220573303a633110e80718012005200628d00f",
            "30003a1a0a126e65742e636f72652e736f6d6178636f6e6e1204313032344a0e4f6e526f6f744d69736d6174",
            "636852100a0e52756e74696d6544656661756c7462054d657267656a0b4d6f756e744f7074696f6e7a090a07",
            "7265676372656482010268318a01037375629201b2010a470a300a2e0a100a047a6f6e651202496e1a01611a",
            "0162121a0a0d6d657461646174612e6e616d6512054e6f74496e1a026e321213080a120f0a0d0a0367707512",
            "0645786973747312350a330a0b0a090a03617070120264621201781a047a6f6e6522002a11706f642d74656d",
            "706c6174652d68617368320674656e616e741a30122e0864122a0a10120e0a036170701202496e1a03776562",
            "1a166b756265726e657465732e696f2f686f73746e616d659a011164656661756c742d7363686564756c6572",
            "a201710a04696e6974120762757379626f781a0273681a022d631a04747275652a00420052130a07220508a8",
            "4612001000180020002800300062200a0c1a0a0a06080010511a0012001210120e0a001206080010501a001a",
            "0022006a007200800100880100900100a20100c20106416c77617973a80100b201190a016b1205457175616c",
            "1a0176220a4e6f5363686564756c65b201190a0012064578697374731a0022094e6f457865637574652800ba",
            "011c0a0831302e302e302e311207612e6c6f63616c1207622e6c6f63616cc2010468696768c80100d201290a",
            "07312e312e312e3112097376632e6c6f63616c1a0a0a056e646f74731201321a070a0565646e7330d80100e2",
            "01130a116578616d706c652e636f6d2f7265616479ea01047761736df00100fa01054e6576657282020c0a03",
            "63707512050a0331306d8a023b080112047a6f6e651a0d446f4e6f745363686564756c65220c0a0a0a036170",
            "70120377656228023205486f6e6f723a0649676e6f72654203726576980200a202070a056c696e7578a80200",
            "b202120a106578616d706c652e636f6d2f67617465ba020f0a0367707522086770752d746d706cba02080a02",
            "63321a027263c2020c0a0a0a0363707512030a0132380040004a07496e646578656450005a3e0a180a074661",
            "696c4a6f62120d0a036170701202496e1801182a0a220a0649676e6f72651a180a1044697372757074696f6e",
            "5461726765741204547275656001680272064661696c65647a1c6b756265726e657465732e696f2f6a6f622d",
            "636f6e74726f6c6c65728201090a070a03302d3210011a082000280030003a001a002200",
        ),
        json: concat!(
            r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"jx","creationTimestamp":null,"labels":{"team":"a"},"#,
            r#""annotations":{"cronjob.kubernetes.io/instantiate":"manual","note":"x"},"ownerReferences":[{"apiVersion":"batch/v1","#,
            r#""kind":"CronJob","name":"cj","uid":"5d3c1c5e-1111-2222-3333-444455556666","controller":true}]},"#,
            r#""spec":{"parallelism":0,"completions":3,"activeDeadlineSeconds":900,"podFailurePolicy":{"rules":[{"action":"FailJob","#,
            r#""onExitCodes":{"containerName":"app","operator":"In","values":[1,42]}},{"action":"Ignore","#,
            r#""onPodConditions":[{"type":"DisruptionTarget","status":"True"}]}]},"successPolicy":{"rules":[{"succeededIndexes":"0-2","#,
            r#""succeededCount":1}]},"backoffLimit":0,"backoffLimitPerIndex":1,"maxFailedIndexes":2,"selector":{"matchLabels":{"job":"x"}},"#,
            r#""manualSelector":true,"template":{"metadata":{"generateName":"t-","creationTimestamp":null,"#,
            r#""labels":{"job":"x"},"annotations":{"a":"b"},"finalizers":["example.com/f"]},"spec":{"volumes":[{"name":"data","#,
            r#""emptyDir":{}},{"name":"mem","emptyDir":{"medium":"Memory","sizeLimit":"64Mi"}},{"name":"cfg","#,
            r#""configMap":{"name":"cfg","items":[{"key":"a","path":"a.txt","mode":420}],"defaultMode":292,"#,
            r#""optional":false}},{"name":"sec","secret":{"secretName":"sec","items":[{"key":"k","path":"p"}],"#,
            r#""defaultMode":256,"optional":true}},{"name":"host","hostPath":{"path":"/var/log","type":"Directory"}},"#,
            r#"{"name":"host2","hostPath":{"path":"/tmp"}},{"name":"pvc","persistentVolumeClaim":{"claimName":"claim","#,
            r#""readOnly":true}},{"name":"dapi","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}},"#,
            r#"{"path":"cpu","resourceFieldRef":{"containerName":"app","resource":"requests.cpu","divisor":"1"},"#,
            r#""mode":384}],"defaultMode":420}},{"name":"tok","projected":{"sources":[{"serviceAccountToken":{"audience":"api","#,
            r#""expirationSeconds":3600,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","#,
            r#""path":"ca.crt"}]}},{"secret":{"name":"s","optional":false}},{"downwardAPI":{"items":[{"path":"namespace","#,
            r#""fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}},{"clusterTrustBundle":{"signerName":"example.com/s","#,
            r#""labelSelector":{"matchLabels":{"a":"b"}},"optional":true,"path":"b.pem"}}],"defaultMode":420}}],"#,
            r#""initContainers":[{"name":"init","image":"busybox","command":["sh","-c","true"],"resources":{},"#,
            r#""restartPolicy":"Always","livenessProbe":{"grpc":{"port":9000,"service":""}},"lifecycle":{"postStart":{"tcpSocket":{"port":81}},"#,
            r#""preStop":{"httpGet":{"port":80}}}}],"containers":[{"name":"app","image":"registry.example/app:v1","#,
            r#""command":["/bin/app"],"args":["--port","8080"],"workingDir":"/work","ports":[{"name":"http","#,
            r#""containerPort":8080,"protocol":"TCP"},{"hostPort":19090,"containerPort":9090,"protocol":"UDP","#,
            r#""hostIP":"0.0.0.0"}],"envFrom":[{"prefix":"CFG_","configMapRef":{"name":"cfg","optional":true}},"#,
            r#"{"secretRef":{"name":"sec","optional":false}}],"env":[{"name":"PLAIN","value":"v"},{"name":"EMPTY"},"#,
            r#"{"name":"FROM_CM","valueFrom":{"configMapKeyRef":{"name":"cfg","key":"k","optional":false}}},"#,
            r#"{"name":"FROM_SECRET","valueFrom":{"secretKeyRef":{"name":"sec","key":"pw"}}},{"name":"POD_IP","#,
            r#""valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"status.podIP"}}},{"name":"CPU","valueFrom":{"resourceFieldRef":{"containerName":"app","#,
            r#""resource":"limits.cpu","divisor":"1m"}}},{"name":"MEM","valueFrom":{"resourceFieldRef":{"resource":"limits.memory","#,
            r#""divisor":"0"}}}],"resources":{"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"cpu":"100m","#,
            r#""ephemeral-storage":"1Gi","memory":"64Mi"},"claims":[{"name":"gpu","request":"r1"}]},"resizePolicy":[{"resourceName":"cpu","#,
            r#""restartPolicy":"NotRequired"}],"volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"cfg","#,
            r#""readOnly":true,"recursiveReadOnly":"Disabled","mountPath":"/etc/cfg","subPath":"a","mountPropagation":"None"},"#,
            r#"{"name":"tok","mountPath":"/var/run/tok","subPathExpr":"$(POD)"}],"volumeDevices":[{"name":"blk","#,
            r#""devicePath":"/dev/xvda"}],"livenessProbe":{"httpGet":{"path":"/healthz","port":8080,"host":"h","#,
            r#""scheme":"HTTP","httpHeaders":[{"name":"X-A","value":"1"}]},"initialDelaySeconds":3,"timeoutSeconds":1,"#,
            r#""periodSeconds":10,"successThreshold":1,"failureThreshold":3,"terminationGracePeriodSeconds":0},"#,
            r#""readinessProbe":{"tcpSocket":{"port":"http","host":"localhost"},"periodSeconds":5},"startupProbe":{"exec":{"command":["cat","#,
            r#""/tmp/ready"]},"failureThreshold":30},"lifecycle":{"postStart":{"exec":{"command":["echo","#,
            r#""hi"]}},"preStop":{"sleep":{"seconds":5}}},"terminationMessagePath":"/dev/termination-log","#,
            r#""terminationMessagePolicy":"FallbackToLogsOnError","imagePullPolicy":"IfNotPresent","securityContext":{"capabilities":{"add":["NET_ADMIN"],"#,
            r#""drop":["ALL"]},"privileged":false,"seLinuxOptions":{"user":"u","role":"r","type":"t","level":"s0"},"#,
            r#""windowsOptions":{"gmsaCredentialSpecName":"g","gmsaCredentialSpec":"{}","runAsUserName":"ContainerUser","#,
            r#""hostProcess":false},"runAsUser":0,"runAsGroup":0,"runAsNonRoot":false,"readOnlyRootFilesystem":true,"#,
            r#""allowPrivilegeEscalation":false,"procMount":"Default","seccompProfile":{"type":"Localhost","#,
            r#""localhostProfile":"p.json"},"appArmorProfile":{"type":"RuntimeDefault"}},"stdin":true,"tty":true}],"#,
            r#""restartPolicy":"OnFailure","terminationGracePeriodSeconds":0,"activeDeadlineSeconds":600,"#,
            r#""dnsPolicy":"ClusterFirst","nodeSelector":{"disk":"ssd"},"serviceAccountName":"builder","#,
            r#""serviceAccount":"builder","automountServiceAccountToken":false,"nodeName":"node-1","hostPID":true,"#,
            r#""shareProcessNamespace":false,"securityContext":{"seLinuxOptions":{"level":"s0:c1"},"runAsUser":1000,"#,
            r#""runAsGroup":0,"runAsNonRoot":true,"supplementalGroups":[5,6],"supplementalGroupsPolicy":"Merge","#,
            r#""fsGroup":2000,"sysctls":[{"name":"net.core.somaxconn","value":"1024"}],"fsGroupChangePolicy":"OnRootMismatch","#,
            r#""seccompProfile":{"type":"RuntimeDefault"},"seLinuxChangePolicy":"MountOption"},"imagePullSecrets":[{"name":"regcred"}],"#,
            r#""hostname":"h1","subdomain":"sub","affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","#,
            r#""operator":"In","values":["a","b"]}],"matchFields":[{"key":"metadata.name","operator":"NotIn","#,
            r#""values":["n2"]}]}]},"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":10,"preference":{"matchExpressions":[{"key":"gpu","#,
            r#""operator":"Exists"}]}}]},"podAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"labelSelector":{"matchLabels":{"app":"db"}},"#,
            r#""namespaces":["x"],"topologyKey":"zone","namespaceSelector":{},"matchLabelKeys":["pod-template-hash"],"#,
            r#""mismatchLabelKeys":["tenant"]}]},"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,"#,
            r#""podAffinityTerm":{"labelSelector":{"matchExpressions":[{"key":"app","operator":"In","values":["web"]}]},"#,
            r#""topologyKey":"kubernetes.io/hostname"}}]}},"schedulerName":"default-scheduler","tolerations":[{"key":"k","#,
            r#""operator":"Equal","value":"v","effect":"NoSchedule"},{"operator":"Exists","effect":"NoExecute","#,
            r#""tolerationSeconds":0}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["a.local","b.local"]}],"#,
            r#""priorityClassName":"high","priority":0,"dnsConfig":{"nameservers":["1.1.1.1"],"searches":["svc.local"],"#,
            r#""options":[{"name":"ndots","value":"2"},{"name":"edns0"}]},"readinessGates":[{"conditionType":"example.com/ready"}],"#,
            r#""runtimeClassName":"wasm","enableServiceLinks":false,"preemptionPolicy":"Never","overhead":{"cpu":"10m"},"#,
            r#""topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule","#,
            r#""labelSelector":{"matchLabels":{"app":"web"}},"minDomains":2,"nodeAffinityPolicy":"Honor","#,
            r#""nodeTaintsPolicy":"Ignore","matchLabelKeys":["rev"]}],"setHostnameAsFQDN":false,"os":{"name":"linux"},"#,
            r#""hostUsers":false,"schedulingGates":[{"name":"example.com/gate"}],"resourceClaims":[{"name":"gpu","#,
            r#""resourceClaimTemplateName":"gpu-tmpl"},{"name":"c2","resourceClaimName":"rc"}],"resources":{"limits":{"cpu":"2"}}}},"#,
            r#""ttlSecondsAfterFinished":0,"completionMode":"Indexed","suspend":false,"podReplacementPolicy":"Failed","#,
            r#""managedBy":"kubernetes.io/job-controller"},"status":{}}"#,
        ),
    },
];

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("captures are hex"))
        .collect()
}

#[test]
fn kubectl_bodies_decode_to_kubectl_json() {
    for capture in CAPTURES {
        let body = unhex(capture.body_hex);
        let decoded = decode(&body).unwrap_or_else(|e| panic!("{}: {e}", capture.command));
        let expected: Value = serde_json::from_str(capture.json).expect("captured JSON parses");
        assert_eq!(decoded, expected, "{}", capture.command);
    }
}
