!function(w,d,s,l){
var A=x=>s.getAttribute("data-"+x),S=(x,v)=>v&&s.setAttribute("data-"+x,v),
V=s.src.split("?")[0].split("/").pop(),P=A("api")||A("goatcounter"),Z=A("domains"),
W=w.plausible||{},q=W.q||[],h,r,
c=e=>{var t=e.target.closest?.("[data-umami-event],[data-goatcounter-click],[class*=plausible-event-name]"),m,p={},a,r;if(!t)return;
m=t.getAttribute("data-umami-event")||t.getAttribute("data-goatcounter-click");
for(a of t.attributes)if(r=/^data-umami-event-(.+)/.exec(a.name))p[r[1]]=a.value;
(t.className+"").replace(/plausible-event-(\S+?)=(\S+)/g,(x,k,v)=>{v=v.replace(/\+/g," ");k=="name"?m=v:p[k]=v});
m&&h(m,{props:p})};
S("site",A("site")||A("website-id")||/^pa-.+(?=\.js$)/.exec(V)?.[0]);
P&&S("api",P.replace(/(api\/event|count)(\?k=(.+))?$/,(x,y,z,k)=>(S("site",k),"ingest/e")));
(r=A("host-url"))&&S("api",r.replace(/\/?$/,"/ingest/e"));
A("goatcounter")&&!A("domain")&&S("domain",l.hostname);
/\.hash\./.test(V)&&S("hash",1);
(/\.manual\./.test(V)||A("auto-track")=="false"||w.goatcounter?.no_onload||W.o?.autoCapturePageviews==!1)&&S("manual",1);
if(!Z||Z.split(/\s*,\s*/).includes(l.hostname))
