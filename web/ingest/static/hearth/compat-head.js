!function(w,d,s,l){
var A=x=>s.getAttribute("data-"+x),S=(x,v)=>v!=null&&s.setAttribute("data-"+x,v),
V=s.src.split("?")[0].split("/").pop(),P=A("api")||A("goatcounter"),Z=A("domains"),
G=w.goatcounter||{},W=w.plausible||{},O=W.o||{},q=W.q||[],h,r,
c=e=>{var t=e.target.closest?.("[data-umami-event],[data-goatcounter-click],[class*=plausible-event-name]"),m,p={},a,r;if(!t)return;
m=t.getAttribute("data-umami-event")||t.getAttribute("data-goatcounter-click");
for(a of t.attributes)if(r=/^data-umami-event-(.+)/.exec(a.name))p[r[1]]=a.value;
(t.className+"").replace(/plausible-event-(\S+?)=(\S+)/g,(x,k,v)=>{v=v.replace(/\+/g," ");k=="name"?m=v:p[k]=v});
m&&h(m,{props:p})};
S("site",A("site")||A("website-id")||(/^pa-.+\.js$/.test(V)?V.slice(0,-3):null));
P&&S("api",P.replace(/(api\/event|count)$/,"ingest/e"));
(r=A("host-url"))&&S("api",r.replace(/\/?$/,"/ingest/e"));
A("goatcounter")&&!A("domain")&&S("domain",l.hostname);
/\.hash\./.test(V)&&S("hash","");
(/\.manual\./.test(V)||A("auto-track")=="false"||G.no_onload||O.autoCapturePageviews==!1)&&S("manual","");
if(!Z||Z.split(",").map(x=>x.trim()).includes(l.hostname))
